"""The one way a bench's result leaves it: JSON stamped with the command that made it, when,
and on what machine, printed and (with --out) written to docs/measurements/.

Standard library only: the GPU benches run it on a machine with a slim wheel set.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def reference_loop_mops() -> float:
    """Millions of iterations per second of a fixed pure-Python loop, run now: how fast this
    machine was at the time (a shared machine drifts between sessions), so that absolute rates
    in files from different days can be compared."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(1.0 / best, 2)


def machine() -> dict[str, Any]:
    """What a result was measured on."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    found: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "reference_loop_mops": reference_loop_mops(),
    }
    if shutil.which("nvidia-smi"):
        query = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
        names = subprocess.run(query, capture_output=True, text=True, check=False).stdout.split("\n")
        found["gpus"] = [name.strip() for name in names if name.strip()]
    return found


def command_line() -> str:
    """How this process was started, as a person would type it again."""
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    program = ["python", "-m", spec.name.removesuffix(".__main__")] if spec is not None else [Path(sys.argv[0]).name]
    return shlex.join([*program, *sys.argv[1:]])


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Print `result` as JSON with its stamp; with `out`, also write it there."""
    stamped = {
        "command": command_line(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **result,
    }
    text = json.dumps(stamped, indent=2) + "\n"
    print(text, end="", flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
