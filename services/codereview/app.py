"""Code review wiring: one consumer service per role, each its own consumer group.

python -m services.codereview orchestrator   review.requested -> review.tasks | review.ready
python -m services.codereview agents [NAME ...]  review.tasks -> review.findings (group codereview-<agent> each)
python -m services.codereview aggregator     review.findings (+ deadline sweep) -> review.ready
python -m services.codereview publisher      review.ready -> GitHub review, review.posted

Locally the five agents share one process (`agents`); in Kubernetes each agent is its own
Deployment (`agents security`), scaled on its own consumer group's lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.codereview.github import GitHubClient
from services.codereview.handlers import (
    ReviewDeps,
    ReviewSettings,
    collect_report,
    orchestrate,
    publish_review,
    report_failure,
    review_task,
    sweep_deadlines,
)
from services.codereview.plan import ALL_AGENTS
from services.common.broker import create_broker, publisher
from services.common.clients import create_pg_pool
from services.common.consumer import consume
from services.common.events import AgentReport, CodeReviewRequested, ReviewAgent, ReviewReady, ReviewTask
from services.common.faults import faults
from services.common.http import consumer_service
from services.common.llm import create_llm
from services.common.settings import Settings, get_settings
from services.common.telemetry import setup_telemetry
from services.common.topics import REVIEW_FINDINGS, REVIEW_READY, REVIEW_REQUESTED, REVIEW_TASKS

log = logging.getLogger("forgeline.codereview")


def review_settings(s: Settings) -> ReviewSettings:
    """The plan's knobs from settings."""
    return ReviewSettings(
        min_changed_lines=s.codereview_min_changed_lines,
        tokens_per_line=s.codereview_tokens_per_line,
        max_tokens=s.codereview_max_tokens,
        deadline_s=s.codereview_deadline_s,
        max_file_bytes=s.codereview_max_file_bytes,
        max_inline_comments=s.codereview_max_inline_comments,
        usd_per_1k_tokens=s.codereview_usd_per_1k_tokens,
    )


def _service(
    settings: Settings,
    service: str,
    subscribe: Callable[[KafkaBroker, Callable[[], ReviewDeps]], None],
    background: Callable[[ReviewDeps], Coroutine[Any, Any, None]] | None = None,
) -> FastAPI:
    """A code review consumer service: `subscribe(broker, deps)` wires its consumers; `deps()`
    is valid once the service has started (Postgres, GitHub client, publisher)."""
    setup_telemetry(settings, service)
    broker = create_broker(settings, service)
    holder: list[ReviewDeps] = []
    subscribe(broker, lambda: holder[0])

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = pool = await create_pg_pool(settings, max_size=settings.codereview_agent_concurrency * 2 + 4)
        http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=settings.client_timeout_s))
        github = GitHubClient(
            http,
            settings.github_api_url,
            settings.github_token,
            max_attempts=settings.github_max_attempts,
            backoff_initial_s=settings.github_backoff_initial_s,
        )
        # The LLM pass is opt-in, and the template backend has nothing to say about code.
        llm = create_llm(settings, http) if settings.codereview_llm_pass and settings.llm_backend != "template" else None
        deps = ReviewDeps(
            pool=pool, publish=publisher(broker), github=github, settings=review_settings(settings), faults=faults(), llm=llm
        )
        holder.append(deps)
        task = asyncio.create_task(background(holder[0])) if background else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await http.aclose()
            await pool.close()

    return consumer_service(service, broker, resources)


def create_orchestrator_app(settings: Settings | None = None) -> FastAPI:
    """Group `codereview-orchestrator` on review.requested."""
    settings = settings or get_settings()
    s = settings

    def subscribe(broker: KafkaBroker, deps: Callable[[], ReviewDeps]) -> None:
        async def handle(event: CodeReviewRequested) -> None:
            await orchestrate(event, deps())

        consume(broker, REVIEW_REQUESTED, "codereview-orchestrator", handle, s)

    return _service(settings, "codereview-orchestrator", subscribe)


def create_agents_app(agents: Sequence[ReviewAgent] = ALL_AGENTS, settings: Settings | None = None) -> FastAPI:
    """One consumer group per agent (`codereview-<agent>`) on review.tasks, in one process."""
    settings = settings or get_settings()
    s = settings

    def subscribe(broker: KafkaBroker, deps: Callable[[], ReviewDeps]) -> None:
        for agent in agents:
            consume_tasks(broker, agent, deps, s)

    name = "codereview-agents" if len(agents) > 1 else f"codereview-{agents[0]}"
    return _service(settings, name, subscribe)


def consume_tasks(broker: KafkaBroker, agent: ReviewAgent, deps: Callable[[], ReviewDeps], settings: Settings) -> None:
    """Agent `agent`'s consumer: its own group, its own tasks only; a dead-lettered task is
    reported as a failed agent so the review does not wait for the deadline."""

    async def handle(task: ReviewTask) -> None:
        if task.agent == agent:
            await review_task(task, deps())

    async def on_dead_letter(task: Any, reason: str) -> None:
        if isinstance(task, ReviewTask) and task.agent == agent:
            await report_failure(task, reason, deps())

    consume(
        broker,
        REVIEW_TASKS,
        f"codereview-{agent}",
        handle,
        settings,
        batch_size=settings.codereview_agent_concurrency * 2,
        concurrency=settings.codereview_agent_concurrency,
        on_dead_letter=on_dead_letter,
    )


def create_aggregator_app(settings: Settings | None = None) -> FastAPI:
    """Group `codereview-aggregator` on review.findings, and the deadline sweep."""
    settings = settings or get_settings()
    s = settings

    def subscribe(broker: KafkaBroker, deps: Callable[[], ReviewDeps]) -> None:
        async def handle(report: AgentReport) -> None:
            await collect_report(report, deps())

        consume(broker, REVIEW_FINDINGS, "codereview-aggregator", handle, s)

    async def sweep(deps: ReviewDeps) -> None:
        while True:
            await asyncio.sleep(s.codereview_sweep_every_s)
            try:
                await sweep_deadlines(deps, stale_after_s=max(30.0, s.codereview_deadline_s / 2))
            except Exception:  # the next sweep tries again; a crash here would stop every deadline
                log.exception("deadline sweep failed")

    return _service(settings, "codereview-aggregator", subscribe, background=sweep)


def create_publisher_app(settings: Settings | None = None) -> FastAPI:
    """Group `codereview-publisher` on review.ready."""
    settings = settings or get_settings()
    s = settings

    def subscribe(broker: KafkaBroker, deps: Callable[[], ReviewDeps]) -> None:
        async def handle(event: ReviewReady) -> None:
            await publish_review(event, deps())

        consume(broker, REVIEW_READY, "codereview-publisher", handle, s)

    return _service(settings, "codereview-publisher", subscribe)
