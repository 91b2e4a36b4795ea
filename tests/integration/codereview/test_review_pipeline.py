"""The review pipeline through the real stack: gateway webhook -> Kafka -> orchestrator ->
five agents -> aggregator -> publisher -> the GitHub API stand-in (its own process, over HTTP)."""

import asyncio
import itertools
import json
import signal
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from forgeline.stack import Stack
from forgeline.standins.github import QueuedFailure, StandInClient
from forgeline.standins.review_samples import (
    EXPECTED,
    NEW_STORE,
    clean_pull,
    fake_sha,
    planted_pull,
    pull_request_payload,
    send_webhook,
)
from forgeline.tools.tail import tail_consumer
from services.codereview.store import rule_stats
from services.common.topics import REVIEW_REQUESTED
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

REPO = "forgeline/demo-shop"
SECRET = "it-webhook-secret"  # GITHUB_WEBHOOK_SECRET of the test stack (conftest)
BASE = fake_sha("base")
_numbers = itertools.count(100)


@pytest.fixture
async def github(env: dict[str, str]) -> AsyncIterator[StandInClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield StandInClient(http, env["GITHUB_API_URL"], env["GITHUB_TOKEN"])


async def open_pull(github: StandInClient, gateway_url: str, files: Any, action: str = "opened",
                    number: int | None = None, head: str | None = None) -> tuple[int, str]:  # fmt: skip
    number = number or next(_numbers)
    head = head or fake_sha(f"{number}-{action}")
    await github.add_pull(REPO, number, head, files)
    async with httpx.AsyncClient(timeout=10) as http:
        response = await send_webhook(http, gateway_url, SECRET, pull_request_payload(REPO, number, head, BASE, action))
    assert response.status_code == 202, response.text
    return number, head


async def review_of(github: StandInClient, number: int, head: str, timeout_s: float = 60) -> dict[str, Any]:
    async def posted() -> list[dict[str, Any]]:
        return [r for r in await github.reviews(REPO, number) if r["commit_id"] == head]

    [review] = await wait_for(posted, timeout_s=timeout_s)
    return review


async def test_planted_issues_are_reported_by_the_right_agent_on_the_right_line(github: StandInClient, gateway_url: str) -> None:
    number, head = await open_pull(github, gateway_url, planted_pull())
    review = await review_of(github, number, head)
    assert review["event"] == "REQUEST_CHANGES"
    by_line = {(c["path"], c["line"]): c["body"] for c in review["comments"]}
    for agent, path, rule, line in EXPECTED:
        body = by_line.get((path, line), "")
        assert agent in body and rule in body, (agent, rule, line, by_line)
    for name in ("quality", "security", "performance", "tests", "docs"):
        assert f"| {name} | done |" in review["body"], review["body"]
    assert "README.md" not in {c["path"] for c in review["comments"]}


async def test_clean_pull_request_gets_an_approving_summary_without_inline_comments(
    github: StandInClient, gateway_url: str
) -> None:
    number, head = await open_pull(github, gateway_url, clean_pull())
    review = await review_of(github, number, head)
    assert review["event"] == "COMMENT" and review["comments"] == []
    assert "looks good" in review["body"]


async def test_trivial_pull_request_is_skipped_with_a_short_comment(github: StandInClient, gateway_url: str) -> None:
    number, head = await open_pull(github, gateway_url, {"docs/guide.md": ("# Guide\n", "# Guide\n\nMore words.\n")})
    review = await review_of(github, number, head)
    assert "skipped" in review["body"] and review["comments"] == []


async def test_redelivered_webhooks_post_one_review_per_head_sha(github: StandInClient, gateway_url: str) -> None:
    number, head = await open_pull(github, gateway_url, planted_pull())
    await open_pull(github, gateway_url, planted_pull(), action="reopened", number=number, head=head)
    await review_of(github, number, head)
    await asyncio.sleep(3)  # time for a second review to (wrongly) appear
    assert len([r for r in await github.reviews(REPO, number) if r["commit_id"] == head]) == 1


async def test_github_errors_are_retried_then_dead_lettered_never_half_posted(
    github: StandInClient, gateway_url: str, env: dict[str, str]
) -> None:
    # Transient: a 502 and a rate limit with Retry-After are absorbed by the client's retries.
    await github.fail_next(QueuedFailure(status=502), QueuedFailure(status=403, retry_after_s=1))
    number, head = await open_pull(github, gateway_url, clean_pull())
    await review_of(github, number, head)

    # Persistent: every attempt fails -> the request lands on review.requested.dlq, nothing is posted.
    dlq = await tail_consumer(env["KAFKA_BOOTSTRAP_SERVERS"], (REVIEW_REQUESTED.dlq,))
    try:
        await github.fail_next(*[QueuedFailure(status=503)] * 6)  # 3 deliveries x 2 attempts (conftest)
        number, head = await open_pull(github, gateway_url, clean_pull())

        async def dead() -> list[Any]:
            records = [r for rs in (await dlq.getmany(timeout_ms=500)).values() for r in rs]
            return [r for r in records if json.loads(r.value or b"{}").get("number") == number]

        assert await wait_for(dead, timeout_s=60)
    finally:
        await dlq.stop()
    assert await github.reviews(REPO, number) == []


async def test_a_later_push_that_changes_a_flagged_line_counts_it_addressed(
    github: StandInClient, gateway_url: str, db: asyncpg.Pool
) -> None:
    number, head = await open_pull(github, gateway_url, planted_pull())
    await review_of(github, number, head)
    fixed = NEW_STORE.replace(
        """conn.execute(f"SELECT id, item FROM orders WHERE customer = '{customer}'")""",
        """conn.execute("SELECT id, item FROM orders WHERE customer = ?", (customer,))""",
    )
    files = {**planted_pull(), "shop/store.py": (planted_pull()["shop/store.py"][0], fixed)}
    _, new_head = await open_pull(github, gateway_url, files, action="synchronize", number=number, head=fake_sha(f"{number}-fix"))
    await review_of(github, number, new_head)
    rows = await db.fetch(
        "SELECT rule, addressed_sha FROM review_findings WHERE repo = $1 AND number = $2 AND head_sha = $3", REPO, number, head
    )
    addressed = {r["rule"] for r in rows if r["addressed_sha"] == new_head}
    assert addressed == {"bandit:B608"}, rows
    stats = {s["rule"]: s for s in await rule_stats(db)}
    assert stats["bandit:B608"]["addressed"] >= 1 and 0 < stats["bandit:B608"]["acceptance_rate"] <= 1


async def test_an_agent_that_never_reports_is_named_at_the_deadline(
    stack: Stack, github: StandInClient, gateway_url: str
) -> None:
    stack.kill("codereview-docs", signal.SIGKILL)
    try:
        number, head = await open_pull(github, gateway_url, clean_pull())
        review = await review_of(github, number, head, timeout_s=90)  # CODEREVIEW_DEADLINE_S (conftest)
        assert "**Not reviewed by:** docs (no report before the deadline)" in review["body"], review["body"]
        assert "| quality | done |" in review["body"]
    finally:
        await stack.restart("codereview-docs")


async def test_the_llm_pass_adds_findings_within_the_budget(github: StandInClient, gateway_url: str) -> None:
    source = '"""Flags."""\n\n\ndef enabled(name: str) -> bool:\n    """Whether a flag is on."""\n    return name == "beta"  # llm-probe\n'
    test = "from flags import enabled\n\n\ndef test_beta_is_enabled() -> None:\n    assert enabled('beta')\n"
    number, head = await open_pull(github, gateway_url, {"flags.py": (None, source), "tests/test_flags.py": (None, test)})
    review = await review_of(github, number, head)
    [comment] = review["comments"]
    assert (comment["path"], comment["line"]) == ("flags.py", 6) and "llm:security" in comment["body"], comment
    used = int(review["body"].split("LLM budget: ", 1)[1].split(" of ", 1)[0].replace(",", ""))
    assert used > 0, review["body"]
