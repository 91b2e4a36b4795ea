"""Quality agent: ruff (bug-prone patterns, complexity, naming, simplifications), duplicated
blocks, and the language-neutral checks every file gets (size, generated or minified files)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.codereview.agents.tools import ruff
from services.codereview.changes import ChangedFile
from services.common.events import Finding, FindingSeverity

RUFF_RULES = ("E9", "E7", "F", "B", "C90", "N", "SIM", "PIE", "PLE")
# Codes that break at run time are critical; style and naming only suggest.
CRITICAL = frozenset({"invalid-syntax", "syntax", "E999", "F821", "F822", "F823", "F632", "PLE0101", "PLE0604", "PLE0605"})
SUGGESTION_PREFIXES = ("N", "SIM", "PIE", "F401", "F841", "E7")
DUPLICATE_WINDOW = 6  # significant lines
LARGE_FILE_ADDED = 800
GENERATED = re.compile(r"(?i)(code generated .* do not edit|@generated|auto-?generated|this file is generated)")
MINIFIED_LINE = 500


def _severity(code: str) -> FindingSeverity:
    if code in CRITICAL:
        return "critical"
    if code.startswith(SUGGESTION_PREFIXES):
        return "suggestion"
    return "warning"


async def review_quality(files: Sequence[ChangedFile]) -> list[Finding]:
    """Findings of ruff, duplicate detection and the size/generated checks."""
    findings = [
        Finding(agent="quality", path=d["path"], line=d["row"], severity=_severity(d["code"]),
                rule=f"ruff:{d['code']}", message=d["message"])
        for d in await ruff(files, RUFF_RULES)
    ]  # fmt: skip
    findings += duplicated_blocks(files)
    for f in files:
        findings += size_and_generated(f)
    return findings


def _significant(line: str) -> str:
    text = line.strip()
    return "" if not text or text.startswith(("#", "//")) or text in {"{", "}", ")", "]", "pass"} else text


def duplicated_blocks(files: Sequence[ChangedFile]) -> list[Finding]:
    """A run of added lines repeating, line for line, a block elsewhere in the changed files."""
    code = [f for f in files if f.text is not None and not f.is_doc and not f.is_lockfile]
    windows: dict[tuple[str, ...], list[tuple[str, int]]] = {}
    significant = {}
    for f in code:
        lines = [(n, _significant(t)) for n, t in enumerate(f.lines(), start=1)]
        kept = [(n, t) for n, t in lines if t]
        significant[f.path] = kept
        for i in range(len(kept) - DUPLICATE_WINDOW + 1):
            block = tuple(t for _, t in kept[i : i + DUPLICATE_WINDOW])
            windows.setdefault(block, []).append((f.path, kept[i][0]))
    findings: list[Finding] = []
    for f in code:
        kept = significant[f.path]
        reported_until = 0
        for i in range(len(kept) - DUPLICATE_WINDOW + 1):
            start = kept[i][0]
            block_lines = [n for n, _ in kept[i : i + DUPLICATE_WINDOW]]
            if start <= reported_until or not all(n in f.added for n in block_lines):
                continue
            block = tuple(t for _, t in kept[i : i + DUPLICATE_WINDOW])
            others = [(p, n) for p, n in windows[block] if (p, n) != (f.path, start)]
            if others:
                where = ", ".join(f"{p}:{n}" for p, n in others[:3])
                findings.append(Finding(
                    agent="quality", path=f.path, line=start, severity="suggestion", rule="quality:duplicated-block",
                    message=f"These {DUPLICATE_WINDOW}+ lines repeat a block at {where}.",
                    suggestion="Extract the shared logic into one function.",
                ))  # fmt: skip
                reported_until = block_lines[-1]
    return findings


def size_and_generated(f: ChangedFile) -> list[Finding]:
    """Language-neutral: very large additions, generated or minified files committed as source."""
    anchor = f.first_added()
    if anchor is None or f.is_lockfile:
        return []
    found: list[Finding] = []
    head = "\n".join(f.lines()[:5])
    if GENERATED.search(head):
        found.append(Finding(
            agent="quality", path=f.path, line=anchor, severity="suggestion", rule="quality:generated-file",
            message="This file says it is generated; review its source instead.",
            suggestion="Mark it `linguist-generated` in .gitattributes, or generate it in the build.",
        ))  # fmt: skip
    elif len(f.added) > LARGE_FILE_ADDED:
        found.append(Finding(
            agent="quality", path=f.path, line=anchor, severity="suggestion", rule="quality:large-change",
            message=f"{len(f.added)} lines added to one file: hard to review well.",
            suggestion="Split the change into smaller pull requests.",
        ))  # fmt: skip
    long_line = next((n for n, text in f.added_text() if len(text) > MINIFIED_LINE), None)
    if long_line is not None and not f.is_doc:
        found.append(Finding(
            agent="quality", path=f.path, line=long_line, severity="suggestion", rule="quality:minified",
            message=f"A line over {MINIFIED_LINE} characters: minified or generated content?",
        ))  # fmt: skip
    return found
