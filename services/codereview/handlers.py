"""The review pipeline's handlers: plain async functions of contracts, clients passed in.

orchestrate       review.requested -> review.tasks (one per planned agent) | review.ready (skipped)
review_task       review.tasks     -> review.findings (one agent's report)
collect_report    review.findings  -> review.ready when every planned agent reported
sweep_deadlines   (timer)          -> review.ready for runs past their deadline
publish_review    review.ready     -> one GitHub review per head SHA, review.posted
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import Counter, Histogram

from services.codereview import store
from services.codereview.agents import on_changed_lines, run_agent
from services.codereview.aggregate import MARKER, AgentOutcome, AgentStatus, RenderedReview, render_review, render_skipped
from services.codereview.changes import ChangedFile
from services.codereview.diff import removed_lines
from services.codereview.github import GitHubClient, PullFile
from services.codereview.llm_pass import llm_findings
from services.codereview.plan import plan_review
from services.codereview.store import RunKey
from services.common.broker import Publish
from services.common.events import (
    AgentReport,
    CodeReviewRequested,
    ReviewAgent,
    ReviewPosted,
    ReviewReady,
    ReviewTask,
)
from services.common.faults import FaultFlags
from services.common.llm import LLMBackend
from services.common.retry import PermanentError
from services.common.topics import REVIEW_FINDINGS, REVIEW_POSTED, REVIEW_READY, REVIEW_TASKS

log = logging.getLogger("forgeline.codereview")

FINDINGS_POSTED = Counter("forgeline_review_findings_posted_total", "Findings posted in reviews, by rule.", ["rule"])
FINDINGS_ADDRESSED = Counter(
    "forgeline_review_findings_addressed_total", "Posted findings whose line a later push changed, by rule.", ["rule"]
)
REVIEWS_POSTED = Counter("forgeline_reviews_posted_total", "Reviews posted, by event.", ["event"])
AGENT_SECONDS = Histogram("forgeline_review_agent_seconds", "Time an agent spent on one task.", ["agent"])
REVIEW_LATENCY = Histogram(
    "forgeline_review_latency_seconds", "Webhook received to review posted.", buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300)
)


@dataclass(frozen=True)
class ReviewSettings:
    """The plan's knobs (from settings)."""

    min_changed_lines: int
    tokens_per_line: int
    max_tokens: int
    deadline_s: float
    max_file_bytes: int
    max_inline_comments: int
    usd_per_1k_tokens: float


@dataclass(frozen=True)
class ReviewDeps:
    """What the handlers use (every role gets the same set)."""

    pool: asyncpg.Pool
    publish: Publish
    github: GitHubClient
    settings: ReviewSettings
    faults: FaultFlags = field(default_factory=lambda: FaultFlags(None))
    llm: LLMBackend | None = None  # the agents' optional LLM pass (CODEREVIEW_LLM_PASS)


# ---- orchestrator --------------------------------------------------------------------------


async def orchestrate(event: CodeReviewRequested, deps: ReviewDeps) -> None:
    """Plan the review of one head SHA: fetch its files, decide the agents, queue their tasks.

    Redelivered (or crashed after storing the run): re-announces what is still outstanding;
    agents and the aggregator ignore what they have already done.
    """
    key, settings, github = RunKey.of(event), deps.settings, deps.github
    run = await store.get_run(deps.pool, key)
    if run is None:
        if event.action == "synchronize":
            await record_feedback(event, deps)
        pulls = await github.pull_files(event.repo, event.number)
        plan = plan_review(
            pulls,
            draft=event.draft,
            min_changed_lines=settings.min_changed_lines,
            tokens_per_line=settings.tokens_per_line,
            max_tokens=settings.max_tokens,
            deadline_s=settings.deadline_s,
        )
        files = await _fetch_files(github, event, pulls, settings.max_file_bytes) if plan.skipped is None else []
        deadline = datetime.now(UTC) + timedelta(seconds=settings.deadline_s)
        await store.create_run(
            deps.pool, key, base_sha=event.base_sha, title=event.title, author=event.author, plan=plan, files=files,
            deadline_at=deadline,
        )  # fmt: skip
        run = await store.get_run(deps.pool, key)
        assert run is not None
    if run.status == "posted":
        return
    if run.plan.skipped is not None or run.status == "ready":
        ready = ReviewReady(repo=key.repo, number=key.number, head_sha=key.head_sha,
                            reason="skipped" if run.plan.skipped is not None else "complete")  # fmt: skip
        await deps.publish(REVIEW_READY, ready)
        return
    reported = set(await store.load_reports(deps.pool, key))
    share = run.plan.budget_tokens // max(1, len(run.agents))
    for agent in run.agents:
        if agent not in reported:
            task = ReviewTask(repo=key.repo, number=key.number, head_sha=key.head_sha, agent=agent, budget_tokens=share,
                              deadline_at=run.deadline_at)  # fmt: skip
            await deps.publish(REVIEW_TASKS, task)


async def _fetch_files(
    github: GitHubClient, event: CodeReviewRequested, pulls: list[PullFile], max_bytes: int
) -> list[ChangedFile]:
    """Each changed file with its full text at the head SHA (fetched side by side)."""
    gate = asyncio.Semaphore(8)

    async def one(pull: PullFile) -> ChangedFile:
        text = None
        if pull.status != "removed" and pull.patch is not None:
            async with gate:
                text = await github.file_text(event.repo, pull.filename, event.head_sha)
            if text is not None and len(text.encode()) > max_bytes:
                text = None  # patch-only checks for very large files
        return ChangedFile.of(pull.filename, pull.status, pull.patch, text)

    return list(await asyncio.gather(*(one(p) for p in pulls)))


async def record_feedback(event: CodeReviewRequested, deps: ReviewDeps) -> None:
    """A push after a review: its findings on lines this push changed count as addressed."""
    github = deps.github
    by_head: dict[str, list[asyncpg.Record]] = {}
    for row in await store.open_findings(deps.pool, event.repo, event.number, event.head_sha):
        by_head.setdefault(row["head_sha"], []).append(row)
    for old_head, findings in by_head.items():
        changed = {f.filename: f for f in await github.compare_files(event.repo, old_head, event.head_sha)}
        addressed = []
        for row in findings:
            pull = changed.get(row["path"])
            if pull is not None and (pull.status == "removed" or (pull.patch and row["line"] in removed_lines(pull.patch))):
                addressed.append((old_head, row["path"], row["line"], row["rule"]))
                FINDINGS_ADDRESSED.labels(row["rule"]).inc()
        if addressed:
            await store.mark_addressed(deps.pool, event.repo, event.number, addressed, event.head_sha)


# ---- agents --------------------------------------------------------------------------------


async def review_task(task: ReviewTask, deps: ReviewDeps) -> None:
    """Run one agent over the run's files and report; a redelivered task reports again (the
    aggregator keeps the first report)."""
    key = RunKey.of(task)
    if await store.get_run(deps.pool, key) is None:
        raise PermanentError(f"no review run for {key.repo}#{key.number}@{key.head_sha[:7]}")
    files = await store.load_files(deps.pool, key)
    await deps.faults.check("codereview.agent", subject=f"{task.agent}:{key.repo}#{key.number}")  # drills kill here
    started = time.perf_counter()
    findings, tokens = await run_agent(task.agent, files), 0
    if deps.llm is not None and task.budget_tokens > 0:
        found, tokens = await llm_findings(deps.llm, task.agent, files, task.budget_tokens)
        findings = on_changed_lines(files, [*findings, *found])
    seconds = time.perf_counter() - started
    AGENT_SECONDS.labels(task.agent).observe(seconds)
    report = AgentReport(repo=key.repo, number=key.number, head_sha=key.head_sha, agent=task.agent, findings=findings,
                         seconds=round(seconds, 3), tokens_used=tokens)  # fmt: skip
    await deps.publish(REVIEW_FINDINGS, report)


async def report_failure(task: ReviewTask, reason: str, deps: ReviewDeps) -> None:
    """A task dead-lettered: tell the aggregator now rather than at the deadline."""
    report = AgentReport(repo=task.repo, number=task.number, head_sha=task.head_sha, agent=task.agent,
                         error=f"failed: {reason}"[:300])  # fmt: skip
    await deps.publish(REVIEW_FINDINGS, report)


# ---- aggregator ----------------------------------------------------------------------------


async def collect_report(report: AgentReport, deps: ReviewDeps) -> None:
    """Keep an agent's report; when every planned agent has reported, the run is ready."""
    key = RunKey.of(report)
    reported = await store.save_report(deps.pool, report)
    if reported is None:
        return  # unknown run, or already ready/posted: the report is kept for the record only
    run = await store.get_run(deps.pool, key)
    if run is not None and set(run.agents) <= set(reported) and await store.mark_ready(deps.pool, key):
        await deps.publish(REVIEW_READY, ReviewReady(repo=key.repo, number=key.number, head_sha=key.head_sha, reason="complete"))


async def sweep_deadlines(deps: ReviewDeps, stale_after_s: float) -> int:
    """Announce runs past their deadline (missing agents are named in the review) and re-announce
    ready runs nobody posted; how many."""
    due = await store.due_runs(deps.pool, stale_after_s)
    for key, why in due:
        log.info("review %s#%s@%s ready by %s", key.repo, key.number, key.head_sha[:7], why)
        await deps.publish(REVIEW_READY, ReviewReady(repo=key.repo, number=key.number, head_sha=key.head_sha, reason="deadline"))
    return len(due)


# ---- publisher -----------------------------------------------------------------------------


def render_run(run: store.Run, reports: dict[ReviewAgent, store.StoredReport], settings: ReviewSettings) -> RenderedReview:
    """The review of a run from the reports that arrived (missing agents named)."""
    if run.plan.skipped is not None:
        return render_skipped(run.key.head_sha, run.plan.skipped)
    outcomes, findings = [], []
    for agent in run.agents:
        report = reports.get(agent)
        if report is None:
            outcomes.append(AgentOutcome(agent, "missing"))
            continue
        findings += report.findings
        status: AgentStatus = "failed" if report.error else "ok"
        outcomes.append(AgentOutcome(agent, status, len(report.findings), report.seconds, report.tokens_used, report.error))
    return render_review(
        run.key.head_sha, outcomes, findings, max_inline=settings.max_inline_comments, budget_tokens=run.plan.budget_tokens,
        usd_per_1k_tokens=settings.usd_per_1k_tokens,
    )  # fmt: skip


async def publish_review(event: ReviewReady, deps: ReviewDeps) -> None:
    """Post exactly one review for the head SHA: under a lock on the run, skip if posted,
    adopt a review of ours GitHub already has (posted before a crash), else post it."""
    key, github, settings = RunKey.of(event), deps.github, deps.settings
    async with deps.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key.lock_id)
        run = await store.get_run(conn, key, for_update=True)
        if run is None:
            raise PermanentError(f"no review run for {key.repo}#{key.number}@{key.head_sha[:7]}")
        if run.status == "posted":
            return
        review = render_run(run, await store.load_reports(conn, key), settings)
        marker = MARKER.format(sha=key.head_sha)
        existing = [
            r for r in await github.reviews(key.repo, key.number)
            if r.get("commit_id") == key.head_sha and marker in (r.get("body") or "")
        ]  # fmt: skip
        if existing:
            review_id = int(existing[0]["id"])
        else:
            review_id = await github.post_review(key.repo, key.number, key.head_sha, review.event, review.body, review.comments)
            await deps.faults.check("codereview.after_post", subject=f"{key.repo}#{key.number}")  # drills crash here
        posted = [(f.path, f.line, f.rules[0], f.severity, list(f.agents)) for f in review.findings]
        await store.record_posted(conn, key, review_id, review.event, posted)
    REVIEWS_POSTED.labels(review.event).inc()
    for f in review.findings:
        FINDINGS_POSTED.labels(f.rules[0]).inc()
    REVIEW_LATENCY.observe((datetime.now(UTC) - run.requested_at).total_seconds())
    await deps.publish(
        REVIEW_POSTED,
        ReviewPosted(repo=key.repo, number=key.number, head_sha=key.head_sha, review_id=review_id, review_event=review.event,
                     counts=review.counts, inline_comments=len(review.comments)),
    )  # fmt: skip
