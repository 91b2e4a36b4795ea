"""The table of parts in docs/operations.md is checked against the parts table the supervisor
starts (`forgeline/stack/components.py`): every part listed once, with its default port."""

import re
from pathlib import Path

import pytest

from forgeline.stack.components import build
from services.common.settings import LocalPorts, Settings

pytestmark = pytest.mark.unit

PAGE = Path(__file__).parents[3] / "docs" / "operations.md"


def table_rows() -> dict[str, str]:
    """part name -> its default-port cell, from the table under 'What `forgeline up` starts'."""
    section = PAGE.read_text().split("## What `forgeline up` starts", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([\w-]+)`", cells[0])
        first = names[0]
        for name in names:  # `codereview-quality`, `-security`, ... share the first one's prefix
            rows[first.rsplit("-", 1)[0] + name if name.startswith("-") else name] = cells[2]
    return rows


def test_every_part_the_supervisor_starts_is_in_the_table_once() -> None:
    parts = set(build(Settings(home=Path("/nonexistent/forgeline"))))
    assert set(table_rows()) == parts


def test_each_service_row_states_its_default_port() -> None:
    defaults = LocalPorts()
    for name, cell in table_rows().items():
        try:
            port = defaults.port_of(name)
        except AttributeError:
            continue  # Serve applications share the head's port
        low, _, high = cell.partition("–")
        first = int(re.sub(r"\D", "", low.split()[0]))
        assert first == port or (high and first <= port <= int(re.sub(r"\D", "", high))), (
            f"{name}: table says {cell}, settings {port}"
        )
