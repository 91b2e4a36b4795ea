"""What every demo shares: how it speaks, and where it finds the running stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Say = Callable[[str], None]


def gateway_and_key(state: dict[str, Any], say: Say) -> tuple[str | None, str | None]:
    """The gateway URL and demo tenant key from stack.json (None, saying what to do, if not up)."""
    gateway = state.get("components", {}).get("gateway", {}).get("endpoint")
    key = state.get("demo_tenant", {}).get("api_key")
    if not gateway or not key:
        say("The stack is not up (no gateway or demo tenant in stack.json). Run `forgeline up` first.")
    return gateway, key


def console_url(state: dict[str, Any]) -> str | None:
    """Where the web console of the running stack is (None when it is not up)."""
    gateway = state.get("components", {}).get("gateway", {}).get("endpoint")
    return f"{gateway}/console" if gateway else None
