import json
import os
from pathlib import Path

import pytest

from services.gateway import drills

pytestmark = pytest.mark.unit


def a_run(home: Path, run_id: str, journal: dict[str, object] | None, pid: int | None) -> Path:
    folder = home / drills.RUNS / run_id
    folder.mkdir(parents=True)
    if journal is not None:
        (folder / drills.JOURNAL).write_text(json.dumps(journal))
    if pid is not None:
        (folder / drills.RUNNER_PID).write_text(str(pid))
    return folder


def journal_of(drill: str, status: str) -> dict[str, object]:
    return {"drill": drill, "status": status, "reason": "", "start": 1_700_000_000.0, "duration": 3.0}


def test_a_live_run_blocks_another_and_a_dead_runner_reads_as_aborted(tmp_path: Path) -> None:
    a_run(tmp_path, "20261203T080000Z-echo-crashed", journal_of("echo-crashed", "passed"), None)
    a_run(tmp_path, "20261203T090000Z-kafka-restarted", journal_of("kafka-restarted", "running"), os.getpid())
    assert drills.running(tmp_path) == "20261203T090000Z-kafka-restarted"
    assert [r.run_id for r in drills.runs(tmp_path, 10)] == ["20261203T090000Z-kafka-restarted", "20261203T080000Z-echo-crashed"]

    gone = 2**22 + 7  # above Linux's pid_max default: no such process
    a_run(tmp_path, "20261203T100000Z-s3-down", journal_of("s3-down", "running"), gone)
    dead = drills.journal(tmp_path, "20261203T100000Z-s3-down")
    assert dead is not None and dead["status"] == "aborted" and drills.RUNNER_LOG in dead["reason"]


def test_a_run_whose_runner_has_not_written_yet_is_starting(tmp_path: Path) -> None:
    a_run(tmp_path, "20261203T080000Z-echo-crashed", None, None)
    found = drills.journal(tmp_path, "20261203T080000Z-echo-crashed")
    assert found is not None and found["status"] == "starting" and found["drill"] == "echo-crashed"


def test_only_run_ids_of_the_runs_folder_are_read(tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    assert drills.journal(tmp_path, "../secret") is None
    assert drills.journal(tmp_path, "20261203T080000Z-nothing-here") is None
    assert drills.catalogue(tmp_path) == []  # up wrote no catalogue: nothing listed


def test_the_runner_inherits_no_endpoint_up_gave_the_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29092")
    monkeypatch.setenv("FORGELINE_HOME", "/srv/stack")
    monkeypatch.setenv("GATEWAY_PARTS", "{}")
    env = drills.runner_env(["KAFKA_BOOTSTRAP_SERVERS"])
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env and "GATEWAY_PARTS" not in env
    assert env["FORGELINE_HOME"] == "/srv/stack"
