from pathlib import Path

import pytest

from forgeline.stack.components import APPS, INFRA, PLATFORM_WAVE, RAY_WAVE, SERVICES, build
from forgeline.stack.ports import isolated_settings

pytestmark = pytest.mark.unit


def test_the_table_holds_every_part_once(tmp_path: Path) -> None:
    parts = build(isolated_settings(tmp_path))
    assert sorted(parts) == sorted({*INFRA, *APPS, *SERVICES})
    assert len((*INFRA, *APPS, *SERVICES)) == len(parts)


def test_the_ray_head_starts_alone_in_the_first_wave(tmp_path: Path) -> None:
    parts = build(isolated_settings(tmp_path))
    assert [name for name, part in parts.items() if part.wave == RAY_WAVE] == ["ray"]
    assert min(part.wave for part in parts.values()) == RAY_WAVE
    assert parts["ray"].attempts > 1 and parts["ray"].ready_line


def test_every_part_starts_after_what_it_needs(tmp_path: Path) -> None:
    """Except a Serve application: it deploys beside the later waves (the services call it per item)."""
    parts = build(isolated_settings(tmp_path))
    for name, part in parts.items():
        for need in part.needs:
            if parts[need].oneshot:
                assert parts[need].wave <= part.wave == PLATFORM_WAVE, (name, need)
            else:
                assert parts[need].wave < part.wave, (name, need)


def test_the_operations_guide_lists_every_part_with_its_command_and_default_port() -> None:
    """docs/operations.md's table of what `forgeline up` starts is checked against the table here."""
    import re

    from services.common.settings import Settings

    parts = build(Settings(home=Path("/nonexistent/forgeline")))
    text = (Path(__file__).parents[4] / "docs" / "operations.md").read_text()
    table = text[text.index("| part | what runs |") :].split("\n\n", 1)[0].splitlines()[2:]
    listed: set[str] = set()
    for row in table:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        first, *more = re.findall(r"`([\w-]+)`", cells[0])
        names = [first] + [first.rsplit("-", 1)[0] + name for name in more]
        for name in names:
            part = parts[name]
            listed.add(name)
            module = re.search(r"python -m ([\w.]+)", cells[1])
            if module and not part.oneshot:
                assert module.group(1) in part.argv, (name, module.group(1), part.argv)
            port = re.match(r"\d+", cells[2])
            if port and part.ports and name == first:
                assert int(port.group()) == next(iter(part.ports.values())), (name, port.group(), part.ports)
    assert listed == set(parts), set(parts) ^ listed
