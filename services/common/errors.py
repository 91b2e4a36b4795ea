"""Readable errors: validation errors shared by every HTTP surface (the gateway, the LLM
application), and the one-line reason a dead letter carries."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError


def describe_validation_errors(errors: list[Any]) -> str:
    """Turn pydantic errors into one readable sentence per problem."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",)) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


# Something shaped like an email address, wherever an error quotes one (an SMTP refusal does).
ADDRESS_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def error_reason(error: BaseException) -> str:
    """An error as one line fit for a dead letter, a log or a page: a validation error names its
    fields without the values it was given, and addresses are masked."""
    if isinstance(error, ValidationError):
        text = f"{type(error).__name__}: {describe_validation_errors(error.errors())}"
    else:
        text = f"{type(error).__name__}: {error}"
    return ADDRESS_RE.sub("<address>", text)[:2000]
