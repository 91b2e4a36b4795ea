"""Artefacts built once per machine (trained or generated models) and shared by every stack.

An entry is built in a scratch directory beside it and renamed into place, so an entry that
exists is complete: a crash or a concurrent build never leaves a half-written one that later
runs would trust.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


def build_once(entry: Path, build: Callable[[Path], object], *, rebuild: bool = False) -> bool:
    """Make `entry` with `build(directory)` unless it exists (or `rebuild`); True when built now."""
    if entry.exists() and not rebuild:
        return False
    entry.parent.mkdir(parents=True, exist_ok=True)
    scratch = entry.with_name(f"{entry.name}.tmp-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        build(scratch)
        shutil.rmtree(entry, ignore_errors=True)
        scratch.rename(entry)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return True
