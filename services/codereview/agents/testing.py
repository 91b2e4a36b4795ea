"""Tests agent: source changed without test changes, new tests without assertions, skipped tests."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from services.codereview.agents.tools import functions, parse
from services.codereview.changes import ChangedFile
from services.common.events import Finding

_ASSERTING_CALL = re.compile(r"(?i)(assert|raises|expect|verify|fail|check|should)")
_SKIP = re.compile(r"(pytest\.mark\.(skip|xfail)\b|unittest\.skip|@skip(If|Unless)?\b|pytest\.skip\(|\.skipTest\()")


async def review_tests(files: Sequence[ChangedFile]) -> list[Finding]:
    """Findings about test coverage of the change and about the tests it adds."""
    findings = untested_source(files)
    for f in files:
        if f.is_python and f.is_test:
            findings += tests_without_assertions(f) + skipped_tests(f)
    return findings


def untested_source(files: Sequence[ChangedFile]) -> list[Finding]:
    """Python source with added lines while no test file changed: one finding per source file."""
    if any(f.is_test and f.added for f in files):
        return []
    found = []
    for f in files:
        anchor = f.first_added()
        if not f.path.endswith(".py") or f.is_test or anchor is None or f.path.endswith(("__init__.py", "setup.py")):
            continue
        found.append(Finding(
            agent="tests", path=f.path, line=anchor, severity="warning", rule="tests:source-without-tests",
            message="This source changed, but no test changed with it.",
            suggestion="Add or update a test that fails without this change.",
        ))  # fmt: skip
    return found


def _asserts(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert | ast.Raise):
            return True
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if _ASSERTING_CALL.search(name):
                return True
        if isinstance(node, ast.With | ast.AsyncWith) and any(
            _ASSERTING_CALL.search(ast.unparse(item.context_expr)) for item in node.items
        ):
            return True
    return False


def tests_without_assertions(f: ChangedFile) -> list[Finding]:
    """New test functions (their `def` line added) that assert nothing."""
    tree = parse(f)
    if tree is None:
        return []
    return [
        Finding(agent="tests", path=f.path, line=fn.lineno, severity="warning", rule="tests:no-assertion",
                message=f"`{fn.name}` asserts nothing: it passes whatever the code does.",
                suggestion="Assert on the result (or use pytest.raises for the error path).")
        for fn in functions(tree)
        if fn.name.startswith("test") and fn.lineno in f.added and not _asserts(fn)
    ]  # fmt: skip


def skipped_tests(f: ChangedFile) -> list[Finding]:
    """Skip or xfail markers added by the change."""
    return [
        Finding(agent="tests", path=f.path, line=line, severity="suggestion", rule="tests:skipped",
                message="A test is skipped: what it covers is no longer checked.",
                suggestion="Give the reason and a tracking issue, or fix the test.")
        for line, text in f.added_text()
        if _SKIP.search(text)
    ]  # fmt: skip
