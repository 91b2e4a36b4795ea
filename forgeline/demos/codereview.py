"""`forgeline demo codereview`: a signed `pull_request.opened` webhook for a sample PR served by
the local GitHub stand-in, the agents working side by side, and the review as GitHub shows it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from forgeline.demos.narrate import Say, gateway_and_key
from forgeline.stack import Stack
from forgeline.standins.github import StandInClient
from forgeline.standins.review_samples import NEW_STORE, fake_sha, planted_pull, pull_request_payload, send_webhook
from forgeline.tools.tail import tail_consumer
from services.common.events import AgentReport, ReviewPosted, ReviewTask
from services.common.settings import Settings
from services.common.topics import REVIEW_FINDINGS, REVIEW_POSTED, REVIEW_TASKS

REPO = "forgeline/demo-shop"


async def codereview(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 90.0) -> bool:
    """Open a sample PR with planted issues, narrate the pipeline, print the posted review."""
    gateway, _ = gateway_and_key(state, say)
    components = state.get("components", {})
    if not gateway:
        return False
    if "codereview-orchestrator" not in components or components.get("github", {}).get("external"):
        say("The demo needs the local GitHub stand-in: run `forgeline up` without GITHUB_TOKEN.")
        return False
    stack = Stack(settings)
    number = int(time.time()) % 100_000  # a fresh PR per run
    head = fake_sha(f"demo-{number}")
    say(f"== code review demo: {REPO}#{number}, 2 files, one planted issue per agent ==")
    watcher = await tail_consumer(components["kafka"]["endpoint"], (REVIEW_TASKS.name, REVIEW_FINDINGS.name, REVIEW_POSTED.name))
    async with httpx.AsyncClient(timeout=30) as http:
        github = StandInClient(http, components["github"]["endpoint"])
        try:
            await github.add_pull(REPO, number, head, planted_pull())
            payload = pull_request_payload(REPO, number, head, fake_sha("demo-base"), title="Orders: lookups and exports")
            started = time.monotonic()
            response = await send_webhook(http, gateway, stack.webhook_secret(), payload)
            say(f"  webhook pull_request.opened (signed) -> {response.status_code} {response.json()}")
            if response.status_code != 202:
                return False
            posted = await _narrate(watcher, number, started, say, timeout_s)
        finally:
            await watcher.stop()
        if posted is None:
            say(f"  no review within {timeout_s:.0f}s: see `forgeline logs codereview-orchestrator` (and the agents').")
            return False
        [review] = [r for r in await github.reviews(REPO, number) if r["id"] == posted.review_id]
    say("")
    say(render_as_github(review))
    return review["event"] == "REQUEST_CHANGES" and len(review["comments"]) >= 6


async def _narrate(watcher: AIOKafkaConsumer, number: int, started: float, say: Say, timeout_s: float) -> ReviewPosted | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for records in (await watcher.getmany(timeout_ms=500)).values():
            for record in records:
                at = f"+{time.monotonic() - started:5.2f}s"
                if record.topic == REVIEW_TASKS.name:
                    task = ReviewTask.model_validate_json(record.value or b"{}")
                    if task.number == number:
                        say(f"  {at} orchestrator -> task for {task.agent} (LLM budget {task.budget_tokens} tokens)")
                elif record.topic == REVIEW_FINDINGS.name:
                    report = AgentReport.model_validate_json(record.value or b"{}")
                    if report.number == number:
                        say(f"  {at} {report.agent:<11} reported {len(report.findings)} finding(s) in {report.seconds:.2f}s")
                elif record.topic == REVIEW_POSTED.name:
                    posted = ReviewPosted.model_validate_json(record.value or b"{}")
                    if posted.number == number:
                        say(f"  {at} publisher -> review #{posted.review_id} {posted.review_event}, "
                            f"{posted.inline_comments} inline comment(s)")  # fmt: skip
                        return posted
        await asyncio.sleep(0)
    return None


def render_as_github(review: dict[str, Any]) -> str:
    """A review as text, the way the PR page shows it: summary, then each inline comment on its line."""
    source = NEW_STORE.splitlines()
    out = [f"┌─ forgeline[bot] {review['event'].replace('_', ' ').lower()} on {review['commit_id'][:7]}", "│"]
    out += [f"│ {line}" for line in review["body"].splitlines() if not line.startswith("<!--")]
    for comment in review["comments"]:
        code = source[comment["line"] - 1] if comment["path"] == "shop/store.py" else ""
        out += ["│", f"├─ {comment['path']}:{comment['line']}", f"│   {comment['line']:>3} + {code.strip()}"]
        out += [f"│     {line}" for line in comment["body"].splitlines() if line.strip() and line != "---"]
    out.append("└─")
    return "\n".join(out)
