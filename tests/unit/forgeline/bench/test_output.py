import json
from pathlib import Path

import pytest

from forgeline.bench.output import emit

pytestmark = pytest.mark.unit


def test_a_result_is_stamped_with_its_command_time_and_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["/x/.venv/bin/forgeline", "bench", "up", "--runs", "3"])
    out = tmp_path / "measurements" / "up.json"
    emit({"successes": 3}, out)
    written = json.loads(out.read_text())
    assert written == json.loads(capsys.readouterr().out)
    assert written["successes"] == 3 and written["machine"]["cpus"] >= 1 and written["measured_at"].endswith("Z")
    assert written["command"].endswith("bench up --runs 3")
