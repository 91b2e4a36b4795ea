"""Running the static analysers (ruff, bandit) over a pull request's files, and the AST
helpers the agents share.

The tools run as subprocesses on a temporary copy of the changed files (full new text, so
findings see the whole file's context), from a thread, so agents run side by side.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from services.codereview.changes import ChangedFile


class ToolError(RuntimeError):
    """An analyser did not run or did not answer JSON."""


def _materialise(root: str, files: Sequence[ChangedFile]) -> dict[str, str]:
    """Write the files under root; map each written real path back to the PR path."""
    written: dict[str, str] = {}
    for f in files:
        if f.text is None or ".." in Path(f.path).parts or f.path.startswith("/"):
            continue
        target = Path(root) / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.text)
        written[os.path.realpath(target)] = f.path
    return written


def _analyse_blocking(python: Sequence[ChangedFile], argv: list[str], ok_codes: frozenset[int], timeout_s: float) -> list[Any]:
    with tempfile.TemporaryDirectory(prefix="fl-review-") as tmp:
        root = os.path.realpath(tmp)
        written = _materialise(root, python)
        try:
            done = subprocess.run([*argv, root], capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise ToolError(f"{argv[2]} ran past {timeout_s:.0f}s") from None
        if done.returncode not in ok_codes:
            raise ToolError(f"{argv[2]} exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")
        try:
            answer = json.loads(done.stdout or b"null")
        except json.JSONDecodeError as error:
            raise ToolError(f"{argv[2]} answered no JSON: {error}") from error
        items = answer if isinstance(answer, list) else (answer or {}).get("results", [])
        found = []
        for item in items:
            path = written.get(os.path.realpath(item["filename"]))
            if path is not None:
                found.append({**item, "path": path})
        return found


async def _analyse(files: Sequence[ChangedFile], argv: list[str], ok_codes: frozenset[int], timeout_s: float) -> list[Any]:
    """Run a tool over a temporary copy of the Python files (in a thread: it waits on a
    subprocess); its JSON items, each with `path`, the PR path of its file."""
    python = [f for f in files if f.is_python]
    if not python:
        return []
    return await asyncio.to_thread(_analyse_blocking, python, argv, ok_codes, timeout_s)


async def ruff(files: Sequence[ChangedFile], select: Sequence[str], timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """ruff's diagnostics for the Python files (`path` is the PR path; `row` 1-based)."""
    argv = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--output-format", "json", "--exit-zero",
            "--target-version", "py311", "--select", ",".join(select), "--config", "lint.mccabe.max-complexity = 10"]  # fmt: skip
    return [
        {"path": d["path"], "row": d["location"]["row"], "code": d.get("code") or "syntax", "message": d["message"]}
        for d in await _analyse(files, argv, frozenset({0}), timeout_s)
        if d.get("location")
    ]


async def bandit(files: Sequence[ChangedFile], timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """bandit's results for the Python files (`path` is the PR path)."""
    # B404/B603: importing subprocess, or running it without a shell, are not findings by themselves.
    argv = [sys.executable, "-m", "bandit", "--format", "json", "--quiet", "--skip", "B404,B603", "--recursive"]
    return await _analyse(files, argv, frozenset({0, 1}), timeout_s)  # 1: issues found


def parse(f: ChangedFile) -> ast.Module | None:
    """The file's syntax tree; None where it does not parse (ruff reports the syntax error)."""
    try:
        return ast.parse(f.text or "", filename=f.path)
    except (SyntaxError, ValueError):
        return None


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function and method in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
