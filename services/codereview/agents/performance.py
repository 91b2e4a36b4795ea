"""Performance agent (Python): radon complexity, nested loops over the same collection,
queries inside loops (N+1), repeated work inside loops, and ruff's perflint rules."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

from radon.complexity import cc_rank, cc_visit

from services.codereview.agents.tools import parse, ruff
from services.codereview.changes import ChangedFile
from services.common.events import Finding

COMPLEXITY_WARNING = 11  # radon rank C and worse
QUERY_METHODS = frozenset({"execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchone", "fetchall", "query",
                           "filter", "filter_by", "get", "first", "scalar", "scalars", "select", "find", "find_one"})  # fmt: skip
DB_RECEIVERS = frozenset({"db", "session", "cursor", "cur", "conn", "connection", "con", "pool", "database", "objects",
                          "collection", "orm", "repo", "repository"})  # fmt: skip
LOOP_INVARIANT_CALLS = {("re", "compile"), ("json", "loads"), ("yaml", "safe_load")}


async def review_performance(files: Sequence[ChangedFile]) -> list[Finding]:
    """Findings of the complexity, loop and query checks on the changed Python files."""
    findings = [
        Finding(agent="performance", path=d["path"], line=d["row"], severity="suggestion",
                rule=f"ruff:{d['code']}", message=d["message"])
        for d in await ruff(files, ("PERF",))
    ]  # fmt: skip
    for f in files:
        if not f.is_python:
            continue
        findings += complexity(f)
        tree = parse(f)
        if tree is not None:
            findings += loop_findings(f, tree)
    return findings


def complexity(f: ChangedFile) -> list[Finding]:
    """Functions the PR touched whose cyclomatic complexity is rank C or worse."""
    try:
        blocks = cc_visit(f.text or "")
    except SyntaxError:
        return []
    found = []
    for block in blocks:
        if block.complexity < COMPLEXITY_WARNING:
            continue
        inside = [n for n in f.added if block.lineno <= n <= block.endline]
        if not inside:
            continue
        line = block.lineno if block.lineno in f.added else min(inside)
        found.append(Finding(
            agent="performance", path=f.path, line=line, severity="warning", rule="radon:complexity",
            message=f"`{block.name}` has cyclomatic complexity {block.complexity} (rank {cc_rank(block.complexity)}).",
            suggestion="Split it into smaller functions; each branch is a path to test.",
        ))  # fmt: skip
    return found


Comprehension = ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp


def _loops(tree: ast.AST) -> Iterator[tuple[ast.expr, list[ast.AST]]]:
    """Every loop and comprehension: (what it iterates over, the nodes of its body)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.AsyncFor):
            yield node.iter, [n for statement in node.body for n in ast.walk(statement)]
        elif isinstance(node, Comprehension):
            parts: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            parts += [condition for generator in node.generators for condition in generator.ifs]
            parts += [generator for generator in node.generators[1:]]
            yield node.generators[0].iter, [n for part in parts for n in ast.walk(part)]


def _receiver(call: ast.Call) -> str | None:
    """The name a method is called on: `cursor` in `cursor.execute()`, `objects` in `User.objects.get()`."""
    if not isinstance(call.func, ast.Attribute):
        return None
    value = call.func.value
    if isinstance(value, ast.Attribute):
        return value.attr
    if isinstance(value, ast.Name):
        return value.id
    return None


def loop_findings(f: ChangedFile, tree: ast.Module) -> list[Finding]:
    """O(n²) loops, N+1 queries and loop-invariant work, on added lines inside loops."""
    found: list[Finding] = []
    seen: set[tuple[int, str]] = set()

    def add(node: ast.AST, rule: str, message: str, suggestion: str, severity: str = "warning") -> None:
        line = getattr(node, "lineno", 0)
        if line in f.added and (line, rule) not in seen:
            seen.add((line, rule))
            found.append(Finding(agent="performance", path=f.path, line=line, severity=severity,  # type: ignore[arg-type]
                                 rule=rule, message=message, suggestion=suggestion))  # fmt: skip

    for iterated, body in _loops(tree):
        collection = ast.dump(iterated)
        for node in body:
            if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension) and ast.dump(node.iter) == collection:
                add(node if isinstance(node, ast.For | ast.AsyncFor) else node.iter, "perf:nested-loop",
                    f"A loop over `{ast.unparse(iterated)}` inside a loop over the same collection: O(n²).",
                    "Index the collection once (a dict or set keyed by what you compare) and look items up.")  # fmt: skip
            elif (
                isinstance(node, ast.Compare)
                and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
                and any(ast.dump(c) == collection for c in node.comparators)
            ):
                add(node, "perf:nested-loop",
                    f"A membership test on `{ast.unparse(iterated)}` inside a loop over it: O(n²) for a list.",
                    "Build a set once before the loop.")  # fmt: skip
            elif isinstance(node, ast.Call):
                receiver = _receiver(node)
                method = node.func.attr if isinstance(node.func, ast.Attribute) else None
                if (
                    method in ("count", "index", "remove")
                    and isinstance(node.func, ast.Attribute)
                    and ast.dump(node.func.value) == collection
                ):
                    add(node, "perf:nested-loop", f"`.{method}()` on the collection being looped over: O(n²).",
                        "Count or index once before the loop (collections.Counter, a dict).")  # fmt: skip
                elif method in QUERY_METHODS and receiver is not None and receiver.lower() in DB_RECEIVERS:
                    add(node, "perf:query-in-loop", f"`{receiver}.{method}()` runs once per loop iteration (N+1 queries).",
                        "Fetch everything in one query before the loop (IN / JOIN / prefetch).")  # fmt: skip
                elif (receiver, method) in LOOP_INVARIANT_CALLS and all(isinstance(a, ast.Constant) for a in node.args):
                    add(node, "perf:loop-invariant", f"`{receiver}.{method}()` of a constant repeats every iteration.",
                        "Move it above the loop.", severity="suggestion")  # fmt: skip
    return found
