"""Readable validation errors, shared by every HTTP surface (the gateway, the LLM application)."""

from __future__ import annotations

from typing import Any


def describe_validation_errors(errors: list[Any]) -> str:
    """Turn pydantic errors into one readable sentence per problem."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",)) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)
