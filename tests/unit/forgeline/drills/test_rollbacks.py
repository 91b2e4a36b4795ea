"""Rollbacks run to the end through a second Ctrl-C (a real SIGINT to a real `asyncio.run`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

# A drill in miniature: one strike to undo, then waiting, as `run_drill` waits on its load. The
# first rollback holds until the test says so, so the second Ctrl-C lands in the middle of it.
DRILL = """
import asyncio, json, sys
from pathlib import Path
from forgeline.drills.faults import Striker

release = Path(sys.argv[1])

async def restart_the_part():
    print("rolling back", flush=True)
    while not release.exists():
        await asyncio.sleep(0.05)
    return "restarted"

async def clear_the_flags():
    return "cleared"

async def main():
    striker = Striker(None, None, "tenant", "run")
    striker._undo("clear flags", clear_the_flags)
    striker._undo("start the part", restart_the_part)
    try:
        print("struck", flush=True)
        await asyncio.Event().wait()
    finally:
        print(json.dumps(await asyncio.shield(striker.roll_back())), flush=True)

asyncio.run(main())
"""


def _line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def test_a_second_ctrl_c_waits_for_the_rollbacks_instead_of_stopping_them(tmp_path: Path) -> None:
    release = tmp_path / "release"
    proc = subprocess.Popen(
        [sys.executable, "-c", DRILL, str(release)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert _line(proc) == "struck"
        proc.send_signal(signal.SIGINT)  # the first: asyncio.run cancels the drill, which rolls back
        assert _line(proc) == "rolling back"
        proc.send_signal(signal.SIGINT)  # the second, mid-rollback: asyncio.run would raise KeyboardInterrupt
        assert proc.stderr is not None
        while (line := proc.stderr.readline()) and "rolling back first" not in line:
            pass  # the handler answered it (or the process died: EOF); now let the rollback finish
        release.touch()
        done = json.loads(_line(proc))
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert done == [
        {"rollback": "start the part", "outcome": "restarted"},
        {"rollback": "clear flags", "outcome": "cleared"},
    ]
    assert proc.returncode != 0  # interrupted all the same: the command does not claim success
