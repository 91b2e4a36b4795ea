"""The README's demo, through the real stack."""

import pytest

from forgeline.demos.email import email
from forgeline.demos.image import image
from forgeline.demos.spine import spine
from forgeline.stack import Stack

pytestmark = pytest.mark.e2e


async def test_spine_demo_passes(stack: Stack) -> None:
    lines: list[str] = []
    assert await spine(stack.settings, stack.load_state(), lines.append), "\n".join(lines)
    assert any("status 'done'" in line for line in lines)


async def test_image_demo_passes(stack: Stack) -> None:
    lines: list[str] = []
    assert await image(stack.settings, stack.load_state(), lines.append), "\n".join(lines)
    assert any("cached=True" in line for line in lines)
    assert any("refunded failure" in line for line in lines)


async def test_email_demo_passes(stack: Stack) -> None:
    lines: list[str] = []
    assert await email(stack.settings, stack.load_state(), lines.append), "\n".join(lines)
    assert any("FALLBACK (discount:" in line for line in lines)


async def test_moderation_demo_passes(stack: Stack) -> None:
    if "moderation-rules" not in stack.load_state()["components"]:
        pytest.skip("moderation is off: no training data (../shared/data/moderation/labeled_data.csv is absent)")
    from forgeline.demos.moderation import moderation

    lines: list[str] = []
    assert await moderation(stack.settings, stack.load_state(), lines.append), "\n".join(lines)
    assert any("[rules     ] reject" in line and "evasive" in line for line in lines), "\n".join(lines)
    assert any("audit trail" in line and "supersedes" in line for line in lines)


async def test_codereview_demo_passes(stack: Stack) -> None:
    from forgeline.demos.codereview import codereview

    lines: list[str] = []
    assert await codereview(stack.settings, stack.load_state(), lines.append), "\n".join(lines)
    assert sum("reported" in line for line in lines) == 5, "\n".join(lines)
    assert any("request changes" in line for line in lines) and any("bandit:B602" in line for line in lines)
