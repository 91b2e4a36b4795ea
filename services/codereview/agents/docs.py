"""Docs agent: new public functions and classes without docstrings, and CLI/API changes
without a README or docs change in the same pull request."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from services.codereview.agents.tools import parse
from services.codereview.changes import ChangedFile
from services.common.events import Finding

_INTERFACE = re.compile(
    r"(add_argument\(|add_parser\(|@click\.(command|option|argument|group)|typer\.(Option|Argument)|@\w+\.command\("
    r"|@(app|router|api|bp|blueprint)\.(get|post|put|patch|delete|route|websocket)\()"
)


async def review_docs(files: Sequence[ChangedFile]) -> list[Finding]:
    """Findings about documentation the change needs."""
    findings: list[Finding] = []
    docs_changed = any(f.is_doc for f in files)
    for f in files:
        if not f.is_python or f.is_test:
            continue
        findings += missing_docstrings(f)
        if not docs_changed:
            findings += undocumented_interface(f)
    return findings


def _public_definitions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """Module-level functions and classes, and public methods of public classes."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            found.append(node)
            if isinstance(node, ast.ClassDef):
                methods = (m for m in node.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef))
                found += [m for m in methods if not m.name.startswith("_")]
    return found


def missing_docstrings(f: ChangedFile) -> list[Finding]:
    """Public definitions whose `def`/`class` line the PR added, without a docstring."""
    tree = parse(f)
    if tree is None:
        return []
    return [
        Finding(agent="docs", path=f.path, line=node.lineno, severity="suggestion", rule="docs:missing-docstring",
                message=f"Public {'class' if isinstance(node, ast.ClassDef) else 'function'} `{node.name}` has no docstring.",
                suggestion="Say in one line what it does and what it returns (or raises).")
        for node in _public_definitions(tree)
        if node.lineno in f.added and ast.get_docstring(node) is None
    ]  # fmt: skip


def undocumented_interface(f: ChangedFile) -> list[Finding]:
    """The first added CLI option or HTTP route of a file, when no docs changed with it."""
    line = next((n for n, text in f.added_text() if _INTERFACE.search(text)), None)
    if line is None:
        return []
    return [Finding(
        agent="docs", path=f.path, line=line, severity="suggestion", rule="docs:interface-undocumented",
        message="A command-line option or HTTP route changed, but no README or docs did.",
        suggestion="Document the new interface where its users look (README, docs/).",
    )]  # fmt: skip
