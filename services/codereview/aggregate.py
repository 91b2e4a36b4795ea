"""The aggregator's logic, plain: merge the agents' findings for one head SHA, rank them,
cap the inline comments and render the review as GitHub shows it.

Findings of different agents about the same thing on the same line (bandit's hard-coded
password and the secret scanner's token; ruff's and radon's complexity) merge into one,
keeping the highest severity and naming every agent that saw it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from services.codereview.github import ReviewComment, ReviewEvent
from services.common.events import Finding, FindingSeverity, ReviewAgent

SEVERITY_ORDER: dict[FindingSeverity, int] = {"critical": 0, "warning": 1, "suggestion": 2}
# Rules that name the same problem; a merged finding keeps the first rule of its group.
TOPICS: dict[str, str] = {
    "bandit:B105": "secret", "bandit:B106": "secret", "bandit:B107": "secret",
    "bandit:B602": "shell-injection", "bandit:B604": "shell-injection", "bandit:B605": "shell-injection",
    "bandit:B608": "sql-injection",
    "ruff:C901": "complexity", "radon:complexity": "complexity",
    "ruff:PERF203": "try-in-loop",
}  # fmt: skip
MARKER = "<!-- forgeline-review head={sha} -->"


def topic(rule: str) -> str:
    """The problem a rule names: rules of one topic on one line are one finding."""
    if rule.startswith("secrets:"):
        return "secret"
    return TOPICS.get(rule, rule)


@dataclass
class MergedFinding:
    """One problem on one line, as one or more agents reported it."""

    path: str
    line: int
    severity: FindingSeverity
    rules: list[str]
    agents: list[ReviewAgent]
    messages: list[str]
    suggestion: str | None

    def rank(self) -> tuple[int, str, int]:
        """Critical first, then by place."""
        return (SEVERITY_ORDER[self.severity], self.path, self.line)


AgentStatus = Literal["ok", "failed", "missing"]


@dataclass(frozen=True)
class AgentOutcome:
    """How one planned agent did."""

    agent: ReviewAgent
    status: AgentStatus
    findings: int = 0
    seconds: float = 0.0
    tokens_used: int = 0
    error: str | None = None


@dataclass
class RenderedReview:
    """What the publisher posts."""

    event: ReviewEvent
    body: str
    comments: list[ReviewComment]
    counts: dict[str, int]
    findings: list[MergedFinding] = field(default_factory=list)
    tokens_used: int = 0


def merge(findings: Sequence[Finding]) -> list[MergedFinding]:
    """One finding per (path, line, topic), highest severity, ranked."""
    merged: dict[tuple[str, int, str], MergedFinding] = {}
    for f in findings:
        key = (f.path, f.line, topic(f.rule))
        known = merged.get(key)
        if known is None:
            merged[key] = MergedFinding(f.path, f.line, f.severity, [f.rule], [f.agent], [f.message], f.suggestion)
            continue
        if SEVERITY_ORDER[f.severity] < SEVERITY_ORDER[known.severity]:
            known.severity = f.severity
        for items, value in ((known.rules, f.rule), (known.agents, f.agent), (known.messages, f.message)):
            if value not in items:
                items.append(value)  # type: ignore[arg-type]
        known.suggestion = known.suggestion or f.suggestion
    return sorted(merged.values(), key=MergedFinding.rank)


def _comment_body(findings: Sequence[MergedFinding]) -> str:
    parts = []
    for f in findings:
        head = f"**{f.severity}** · {', '.join(f.agents)} · `{', '.join(f.rules)}`"
        text = " ".join(f.messages)
        parts.append(f"{head}\n{text}" + (f"\n\n💡 {f.suggestion}" if f.suggestion else ""))
    return "\n\n---\n\n".join(parts)


def render_review(
    head_sha: str,
    outcomes: Sequence[AgentOutcome],
    findings: Sequence[Finding],
    *,
    max_inline: int,
    budget_tokens: int,
    usd_per_1k_tokens: float,
) -> RenderedReview:
    """The review for one head SHA: REQUEST_CHANGES when anything is critical, else COMMENT."""
    ranked = merge(findings)
    counts = Counter(f.severity for f in ranked)
    by_line: dict[tuple[str, int], list[MergedFinding]] = {}
    for f in ranked:
        by_line.setdefault((f.path, f.line), []).append(f)
    inline = list(by_line.items())[:max_inline]
    comments = [ReviewComment(path=path, line=line, body=_comment_body(group)) for (path, line), group in inline]
    not_inline = [f for _, group in list(by_line.items())[max_inline:] for f in group]
    event: ReviewEvent = "REQUEST_CHANGES" if counts["critical"] else "COMMENT"
    tokens = sum(o.tokens_used for o in outcomes)

    lines = [MARKER.format(sha=head_sha)]
    if event == "REQUEST_CHANGES":
        lines.append(f"### Forgeline review: changes requested ({_counts(counts)})")
    elif ranked:
        lines.append(f"### Forgeline review: {_counts(counts)}")
    else:
        lines.append("### Forgeline review: looks good ✅")
        lines.append("No agent found anything to change on the lines this pull request touches.")
    lines += ["", "| agent | status | critical | warning | suggestion | time |", "|---|---|---:|---:|---:|---:|"]
    per_agent = {o.agent: Counter(f.severity for f in ranked if o.agent in f.agents) for o in outcomes}
    for o in outcomes:
        c = per_agent[o.agent]
        status = {"ok": "done", "failed": "failed", "missing": "no report before the deadline"}[o.status]
        lines.append(f"| {o.agent} | {status} | {c['critical']} | {c['warning']} | {c['suggestion']} | {o.seconds:.1f}s |")
    missing = [o for o in outcomes if o.status != "ok"]
    if missing:
        lines += ["", "**Not reviewed by:** " + "; ".join(
            f"{o.agent} ({o.error or 'no report before the deadline'})" for o in missing
        ) + ". Their checks are missing from this review."]  # fmt: skip
    if not_inline:
        lines += ["", f"<details><summary>{len(not_inline)} more finding(s) not shown inline (limit {max_inline})</summary>", ""]
        lines += [f"- **{f.severity}** `{f.path}:{f.line}` {' '.join(f.messages)}" for f in not_inline]
        lines += ["", "</details>"]
    cost = tokens / 1000 * usd_per_1k_tokens
    lines += ["", f"<sub>LLM budget: {tokens:,} of {budget_tokens:,} tokens used (≈ ${cost:.4f}).</sub>"]
    return RenderedReview(event, "\n".join(lines), comments, {k: counts[k] for k in SEVERITY_ORDER}, ranked, tokens)


def render_skipped(head_sha: str, reason: str) -> RenderedReview:
    """The short comment a skipped pull request gets."""
    body = f"{MARKER.format(sha=head_sha)}\n### Forgeline review: skipped\n{reason[0].upper()}{reason[1:]}."
    return RenderedReview("COMMENT", body, [], dict.fromkeys(SEVERITY_ORDER, 0))


def _counts(counts: Counter[FindingSeverity]) -> str:
    names = {"critical": "critical", "warning": "warnings", "suggestion": "suggestions"}
    return ", ".join(f"{counts[s]} {names[s] if counts[s] != 1 else s}" for s in SEVERITY_ORDER if counts[s])
