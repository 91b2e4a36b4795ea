import pytest

from services.codereview.github import PullFile
from services.codereview.plan import plan_review

pytestmark = pytest.mark.unit

OPTIONS = {"min_changed_lines": 3, "tokens_per_line": 20, "max_tokens": 20_000, "deadline_s": 60.0}


def changed(name: str, lines: int = 10, status: str = "modified") -> PullFile:
    return PullFile(filename=name, status=status, additions=lines, deletions=0, changes=lines)


def test_python_changes_get_every_agent_within_a_budget() -> None:
    plan = plan_review([changed("app/api.py", 40), changed("README.md", 5)], draft=False, **OPTIONS)
    assert plan.skipped is None and plan.agents == ["quality", "security", "performance", "tests", "docs"]
    assert plan.budget_tokens == 2000 + 20 * 45 and plan.languages == {"python": 1, "other": 1}


def test_other_languages_get_the_language_neutral_agents() -> None:
    plan = plan_review([changed("web/app.ts", 40), changed("deploy/values.yaml", 4)], draft=False, **OPTIONS)
    assert plan.agents == ["quality", "security"]


@pytest.mark.parametrize(
    ("files", "draft", "reason"),
    [
        ([changed("app/api.py")], True, "draft"),
        ([changed("docs/guide.md"), changed("uv.lock", 400)], False, "documentation or lock files only"),
        ([changed("app/api.py", 2)], False, "below the review threshold"),
        ([changed("app/old.py", status="removed")], False, "only removes files"),
    ],
)
def test_trivial_pull_requests_are_skipped_with_a_reason(files: list[PullFile], draft: bool, reason: str) -> None:
    plan = plan_review(files, draft=draft, **OPTIONS)
    assert plan.skipped is not None and reason in plan.skipped
    assert plan.agents == [] and plan.budget_tokens == 0


def test_the_budget_is_capped() -> None:
    assert plan_review([changed("big.py", 5000)], draft=False, **OPTIONS).budget_tokens == 20_000
