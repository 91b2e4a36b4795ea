"""`forgeline demo all`: every demo, one after another, with a verdict each."""

from __future__ import annotations

from typing import Any

from forgeline.demos.email import email
from forgeline.demos.image import image
from forgeline.demos.narrate import Say, console_url
from forgeline.demos.spine import spine
from services.common.settings import Settings


async def run_all(settings: Settings, state: dict[str, Any], say: Say) -> bool:
    """Every demo that exists so far."""
    results = {"spine": await spine(settings, state, say)}
    say("")
    results["image"] = await image(settings, state, say)
    say("")
    results["email"] = await email(settings, state, say)
    say("")
    from forgeline.demos.moderation import moderation

    results["moderation"] = await moderation(settings, state, say)
    say("")
    from forgeline.demos.codereview import codereview

    results["codereview"] = await codereview(settings, state, say)
    say("")
    for name, ok in results.items():
        say(f"demo {name}: {'PASSED' if ok else 'FAILED'}")
    say(f"Watch it in the console: {console_url(state)} (sign in with the demo tenant's key: `forgeline console`).")
    return all(results.values())
