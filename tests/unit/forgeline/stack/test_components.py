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


def test_servers_listen_on_loopback_unless_told_and_kafka_advertises_the_given_name(tmp_path: Path) -> None:
    def argv(parts: dict[str, object], name: str) -> str:
        return " ".join(parts[name].argv)  # type: ignore[attr-defined]

    local = build(isolated_settings(tmp_path))
    assert "--protected-mode yes" in argv(local, "redis") and "--bind 127.0.0.1" in argv(local, "redis")
    assert "--advertised-listener-url tcp://127.0.0.1:" in argv(local, "kafka")

    shared = build(isolated_settings(tmp_path, bind_host="0.0.0.0", advertised_host="forgeline-backing"))
    assert "--advertised-listener-url tcp://forgeline-backing:" in argv(shared, "kafka")
    assert "--listener-url tcp://0.0.0.0:" in argv(shared, "kafka")
    assert "listen_addresses=0.0.0.0" in argv(shared, "postgres") and "--ip 0.0.0.0" in argv(shared, "temporal")
    assert "--protected-mode no" in argv(shared, "redis")  # no password: only on the backing's private network
    assert argv(shared, "smtp").endswith("--host 0.0.0.0") and argv(shared, "github").endswith("--host 0.0.0.0")
    assert shared["postgres"].endpoint.startswith("postgresql://forgeline:forgeline@127.0.0.1:")  # its own clients: loopback
