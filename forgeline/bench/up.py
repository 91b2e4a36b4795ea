"""`forgeline bench up`: cold starts of the whole platform, each in a fresh home, models cached.

What a new user meets first: `forgeline up` on a fresh machine. Each run starts every part
from nothing (a new home: no data, no topics, no Ray session), waits until all is healthy,
then stops it all. The models are built once before the runs (as `make models` does), so a
run measures the start, not the one-time training.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from forgeline.bench.harness import bench_stack, warm_model_cache
from forgeline.demos.narrate import Say
from forgeline.stack import StackError
from services.common.settings import Settings

GOAL_P50_S = 45.0


def one_start(number: int, runs: int, progress: Say) -> dict[str, Any]:
    """One cold `up` + `down` in a fresh home."""
    with bench_stack({}, progress) as stack:
        started = time.monotonic()
        try:
            parts = stack.up()["components"]
        except StackError as error:
            cause = str(error).splitlines()[0]
            progress(f"run {number}/{runs}: FAILED: {cause}")
            return {"ok": False, "seconds": round(time.monotonic() - started, 1), "error": cause}
        seconds = round(time.monotonic() - started, 1)
        progress(f"run {number}/{runs}: healthy in {seconds}s")
        ray = parts["ray"]
        return {
            "ok": True,
            "seconds": seconds,
            "ray_attempts": ray["attempt"],
            "ray_ready_s": round(ray["ready_at"] - ray["started_at"], 1),
            "last_ready": max((n for n in parts if parts[n].get("ready_at")), key=lambda n: parts[n]["ready_at"]),
        }


def up(settings: Settings, *, runs: int, progress: Say) -> dict[str, Any]:
    """`runs` cold `up` + `down` cycles; JSON-ready counts and times."""
    models = warm_model_cache(settings, progress)
    each = [one_start(number, runs, progress) for number in range(1, runs + 1)]
    times: list[float] = [run["seconds"] for run in each if run["ok"]]
    p50 = round(statistics.median(times), 1) if times else None
    return {
        "what": "cold `forgeline up` (every part, a fresh home each run, models cached), then `down`",
        "models": models,
        "runs": runs,
        "successes": len(times),
        "seconds_to_healthy": {"p50": p50, "min": min(times, default=None), "max": max(times, default=None)},
        "ray_retries": sum(run.get("ray_attempts", 1) - 1 for run in each),
        "goal": {"successes": runs, "p50_seconds_to_healthy": GOAL_P50_S},
        "goal_met": len(times) == runs and p50 is not None and p50 <= GOAL_P50_S,
        "each_run": each,
    }
