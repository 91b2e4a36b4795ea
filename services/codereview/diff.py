"""Unified diff hunks (GitHub's per-file `patch`) mapped to new-file line numbers.

Agents may comment only on lines the pull request added or changed: those are the `+`
lines, numbered in the new file (GitHub's `line` with `side: RIGHT`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Hunk:
    """One hunk: where it starts in the new file, and the new-file numbers of its added lines."""

    new_start: int
    new_length: int
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)  # old-file numbers of removed or changed lines


def parse_hunks(patch: str) -> list[Hunk]:
    """The hunks of one file's patch; ValueError for a line outside any hunk."""
    hunks: list[Hunk] = []
    new_line = old_line = 0
    for raw in patch.splitlines():
        header = HUNK_HEADER.match(raw)
        if header:
            start = int(header.group(3))
            length = int(header.group(4)) if header.group(4) is not None else 1
            hunks.append(Hunk(start, length))
            new_line, old_line = start, int(header.group(1))
            continue
        if raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        if not hunks:
            raise ValueError(f"patch line outside a hunk: {raw[:60]!r}")
        if raw.startswith("+"):
            hunks[-1].added.append(new_line)
            new_line += 1
        elif raw.startswith("-"):
            hunks[-1].removed.append(old_line)
            old_line += 1
        else:  # context (a leading space, or an empty line GitHub trimmed)
            new_line += 1
            old_line += 1
    return hunks


def added_lines(patch: str) -> set[int]:
    """New-file numbers of every added or changed line."""
    return {line for hunk in parse_hunks(patch) for line in hunk.added}


def removed_lines(patch: str) -> set[int]:
    """Old-file numbers of every removed or changed line (what a later push touched)."""
    return {line for hunk in parse_hunks(patch) for line in hunk.removed}
