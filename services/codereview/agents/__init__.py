"""The specialist agents: plain async functions of the changed files, returning findings.

`run_agent` is the one entry point: it runs an agent and keeps only findings on lines the
pull request added or changed (the only lines GitHub accepts review comments on with
`side: RIGHT`), de-duplicated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from services.codereview.agents.docs import review_docs
from services.codereview.agents.performance import review_performance
from services.codereview.agents.quality import review_quality
from services.codereview.agents.security import review_security
from services.codereview.agents.testing import review_tests
from services.codereview.changes import ChangedFile
from services.common.events import Finding, ReviewAgent

AgentCheck = Callable[[Sequence[ChangedFile]], Awaitable[list[Finding]]]

AGENTS: dict[ReviewAgent, AgentCheck] = {
    "quality": review_quality,
    "security": review_security,
    "performance": review_performance,
    "tests": review_tests,
    "docs": review_docs,
}


async def run_agent(agent: ReviewAgent, files: Sequence[ChangedFile]) -> list[Finding]:
    """One agent's static findings, on changed lines only, each (path, line, rule) once."""
    return on_changed_lines(files, await AGENTS[agent](files))


def on_changed_lines(files: Sequence[ChangedFile], findings: Sequence[Finding]) -> list[Finding]:
    """Only findings on lines the PR added or changed, each (path, line, rule) once, in order."""
    added = {f.path: f.added for f in files}
    kept: dict[tuple[str, int, str], Finding] = {}
    for finding in findings:
        if finding.line in added.get(finding.path, frozenset()):
            kept.setdefault((finding.path, finding.line, finding.rule), finding)
    return sorted(kept.values(), key=lambda x: (x.path, x.line, x.rule))
