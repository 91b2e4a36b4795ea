"""The operations page lists every renamed variable with its new name (users look there when
a process warns about one)."""

from pathlib import Path

import pytest

from services.common.settings import RENAMED

pytestmark = pytest.mark.unit

PAGE = Path(__file__).parents[3] / "docs" / "operations.md"


def test_every_renamed_variable_is_in_the_table_with_its_new_name() -> None:
    rows = set(PAGE.read_text().splitlines())
    missing = [old for old, new in RENAMED.items() if f"| `{old}` | `{new}` |" not in rows]
    assert not missing, f"docs/operations.md lacks a row for {missing}"
