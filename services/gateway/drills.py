"""What the console's Drills view reads and starts: the drill catalogue and the runs' journals
that the local supervisor and the drill runner keep under the drills home
(`GATEWAY_DRILLS_HOME`, set by `forgeline up`), and a run started as its own process.

    <drills home>/catalogue.json          every drill file, summarised (written by `forgeline up`)
    <drills home>/runs/<run id>/runner.pid the runner's process
    <drills home>/runs/<run id>/journal.json  the journal: live while it runs, then final
    <drills home>/runs/<run id>/runner.log    what the runner printed

The runner is `forgeline drill run`, started detached from the gateway: a drill may kill the
gateway itself, and the supervisor restarts a part by stopping its whole process tree.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel, Field

CATALOGUE = "catalogue.json"
RUNS = "runs"
JOURNAL = "journal.json"
RUNNER_PID = "runner.pid"
RUNNER_LOG = "runner.log"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[a-z0-9][a-z0-9-]*$")
FINAL = frozenset({"passed", "failed", "deviated", "inconclusive", "aborted", "skipped"})


class FaultSummary(BaseModel):
    """One step of a drill's method."""

    name: str
    kind: str
    disrupts: bool


class DrillSummary(BaseModel):
    """One drill file, as the catalogue lists it."""

    name: str
    proves: str
    tags: list[str]
    smoke: bool
    pipelines: dict[str, float] = Field(description="Requests per second the drill's load sends to each pipeline.")
    duration_s: float
    method: list[FaultSummary]
    invariants: list[str]
    chaos_mesh: str | None = Field(
        description="The same drill as a Chaos Mesh Workflow for a cluster; null when none of its faults renders there."
    )


class RunSummary(BaseModel):
    """A drill run, as the list shows it."""

    run_id: str
    drill: str
    status: str = Field(description="starting, running, or a verdict (passed, failed, deviated, inconclusive, aborted, skipped).")
    reason: str
    started_at: datetime
    duration_s: float


def catalogue(home: Path) -> list[DrillSummary]:
    """The drills `forgeline up` found (none when it wrote no catalogue)."""
    try:
        data = json.loads((home / CATALOGUE).read_text())
    except FileNotFoundError:
        return []
    return [DrillSummary.model_validate(d) for d in data]


def journal(home: Path, run_id: str) -> dict[str, Any] | None:
    """A run's journal as it stands: the runner's, or a `starting` one before it wrote any; None
    for no such run."""
    if not RUN_ID.match(run_id):
        return None
    folder = home / RUNS / run_id
    try:
        found: dict[str, Any] = json.loads((folder / JOURNAL).read_text())
    except FileNotFoundError:
        if not folder.is_dir():
            return None
        drill = run_id.split("-", 1)[1]
        started = folder.stat().st_mtime
        found = {"drill": drill, "status": "starting", "reason": "", "start": started, "duration": 0.0}
    if found["status"] not in FINAL and not _runner_alive(folder):
        found["status"], found["reason"] = "aborted", f"the runner stopped without a verdict: see {folder / RUNNER_LOG}"
    return found


def runs(home: Path, limit: int) -> list[RunSummary]:
    """The latest runs, newest first."""
    names = sorted((p.name for p in (home / RUNS).glob("*") if RUN_ID.match(p.name)), reverse=True)[:limit]
    found = []
    for run_id in names:
        j = journal(home, run_id)
        if j is not None:
            found.append(
                RunSummary(
                    run_id=run_id,
                    drill=j["drill"],
                    status=j["status"],
                    reason=j.get("reason", ""),
                    started_at=datetime.fromtimestamp(j["start"], UTC),
                    duration_s=j.get("duration", 0.0),
                )
            )
    return found


def running(home: Path) -> str | None:
    """The run in progress, if any: drills on one stack must not overlap."""
    for summary in runs(home, 20):
        if summary.status in ("starting", "running"):
            return summary.run_id
    return None


def _runner_alive(folder: Path) -> bool:
    try:
        pid = int((folder / RUNNER_PID).read_text())
    except (FileNotFoundError, ValueError):
        # Not written yet: the runner is starting (give it a minute), or it never started.
        return datetime.now(UTC).timestamp() - folder.stat().st_mtime < 60
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def runner_env(unset: list[str]) -> dict[str, str]:
    """The gateway's environment without what `forgeline up` added to it (`unset`): with the
    endpoints of the stack's own parts set, the runner would take them for outside ones and
    could not restart them."""
    return {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("GATEWAY_") and k != "FORGELINE_SERVICE"}


async def start_run(home: Path, drill: str, unset: list[str]) -> str:
    """Start `forgeline drill run` for `drill` as a process of its own (not the gateway's child);
    return the run's id."""
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{drill}"
    folder = home / RUNS / run_id
    folder.mkdir(parents=True)
    command = [sys.executable, "-m", "forgeline", "drill", "run", drill, "--run-id", run_id]
    # A launcher starts the runner in a session of its own and exits at once, so the runner is
    # nobody's descendant here.
    launcher = (
        "import subprocess, sys\n"
        "log = open(sys.argv[1], 'ab')\n"
        "subprocess.Popen(sys.argv[2:], start_new_session=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", launcher, str(folder / RUNNER_LOG), *command, env=runner_env(unset)
    )
    if await process.wait() != 0:
        raise RuntimeError(f"the drill runner could not be started (see {folder / RUNNER_LOG})")
    return run_id
