import pytest

from services.codereview.aggregate import MARKER, AgentOutcome, merge, render_review, render_skipped
from services.common.events import Finding

pytestmark = pytest.mark.unit
SHA = "a" * 40


def finding(agent: str, line: int, rule: str, severity: str = "warning", path: str = "app.py") -> Finding:
    return Finding(agent=agent, path=path, line=line, severity=severity, rule=rule, message=f"{rule} says so")  # type: ignore[arg-type]


def render(findings: list[Finding], outcomes: list[AgentOutcome] | None = None, max_inline: int = 10):  # type: ignore[no-untyped-def]
    outcomes = outcomes or [AgentOutcome("security", "ok"), AgentOutcome("quality", "ok")]
    return render_review(SHA, outcomes, findings, max_inline=max_inline, budget_tokens=4000, usd_per_1k_tokens=0.001)


def test_the_same_problem_from_two_agents_is_one_finding_with_the_highest_severity() -> None:
    merged = merge([
        finding("security", 3, "bandit:B105", "suggestion"),
        finding("security", 3, "secrets:aws-access-key-id", "critical"),
        finding("performance", 9, "radon:complexity"),
        finding("quality", 9, "ruff:C901"),
    ])  # fmt: skip
    assert [(m.line, m.severity, m.rules) for m in merged] == [
        (3, "critical", ["bandit:B105", "secrets:aws-access-key-id"]),
        (9, "warning", ["radon:complexity", "ruff:C901"]),
    ]
    assert merged[1].agents == ["performance", "quality"]


def test_findings_rank_critical_first_and_different_problems_on_a_line_stay_apart() -> None:
    merged = merge([finding("docs", 1, "docs:missing-docstring", "suggestion"), finding("quality", 1, "ruff:B006"),
                    finding("security", 7, "bandit:B602", "critical")])  # fmt: skip
    assert [(m.line, m.severity) for m in merged] == [(7, "critical"), (1, "warning"), (1, "suggestion")]


def test_critical_requests_changes_and_lines_share_one_comment() -> None:
    review = render([finding("security", 7, "bandit:B602", "critical"), finding("quality", 7, "ruff:F841", "suggestion")])
    assert review.event == "REQUEST_CHANGES"
    [comment] = review.comments
    assert (comment.path, comment.line, comment.side) == ("app.py", 7, "RIGHT")
    assert "bandit:B602" in comment.body and "ruff:F841" in comment.body
    assert review.body.startswith(MARKER.format(sha=SHA)) and "1 critical, 1 suggestion" in review.body


def test_inline_comments_are_capped_and_the_rest_listed_in_the_summary() -> None:
    review = render([finding("quality", n, "ruff:B006") for n in range(1, 8)], max_inline=3)
    assert [c.line for c in review.comments] == [1, 2, 3]
    assert "4 more finding(s) not shown inline (limit 3)" in review.body and "`app.py:7`" in review.body


def test_a_clean_review_is_an_approving_comment_and_missing_agents_are_named() -> None:
    outcomes = [AgentOutcome("quality", "ok", seconds=0.4), AgentOutcome("docs", "missing"),
                AgentOutcome("tests", "failed", error="failed: ruff exited 2")]  # fmt: skip
    review = render([], outcomes)
    assert review.event == "COMMENT" and review.comments == [] and "looks good" in review.body
    assert "docs (no report before the deadline); tests (failed: ruff exited 2)" in review.body
    assert "| docs | no report before the deadline |" in review.body


def test_skipped_pull_requests_get_a_short_comment() -> None:
    review = render_skipped(SHA, "documentation or lock files only: nothing for the code agents")
    assert review.event == "COMMENT" and review.comments == [] and "Documentation or lock files only" in review.body
