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
from services.common.clients import create_pg_pool
from services.common.events import ReviewAgent, ReviewTask
from services.common.faults import faults
from services.common.llm import create_llm
from services.common.service import ConsumerService
from services.common.settings import Settings, get_settings
from services.common.topics import REVIEW_FINDINGS, REVIEW_READY, REVIEW_REQUESTED, REVIEW_TASKS

log = logging.getLogger("forgeline.codereview")


def review_settings(s: Settings) -> ReviewSettings:
    """The plan's knobs from settings."""
    return ReviewSettings(
        min_changed_lines=s.codereview.min_changed_lines,
        tokens_per_line=s.codereview.tokens_per_line,
        max_tokens=s.codereview.max_tokens,
        deadline_s=s.codereview.deadline_s,
        max_file_bytes=s.codereview.max_file_bytes,
        max_inline_comments=s.codereview.max_inline_comments,
        usd_per_1k_tokens=s.codereview.usd_per_1k_tokens,
    )


def _service(
    settings: Settings,
    name: str,
    subscribe: Callable[[ConsumerService[ReviewDeps]], None],
    background: Callable[[ReviewDeps], Coroutine[Any, Any, None]] | None = None,
) -> FastAPI:
    """A code review consumer service: `subscribe(service)` wires its consumers; their handlers
    get the review's dependencies (Postgres, the GitHub client, the publisher, the LLM)."""
    service = ConsumerService[ReviewDeps](name, settings)
    subscribe(service)

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[ReviewDeps]:
        app.state.pool = pool = await create_pg_pool(settings, max_size=settings.codereview.agent_concurrency * 2 + 4)
        http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=settings.client.timeout_s))
        github = GitHubClient(
            http,
            settings.endpoints.github_api_url,
            settings.github.token,
            max_attempts=settings.github.max_attempts,
            backoff_initial_s=settings.github.backoff_initial_s,
        )
        # The LLM pass is opt-in, and the template backend has nothing to say about code.
        llm = create_llm(settings, http) if settings.codereview.llm_pass and settings.llm.backend != "template" else None
        deps = ReviewDeps(
            pool=pool, publish=service.publish(), github=github, settings=review_settings(settings), faults=faults(), llm=llm
        )
        task = asyncio.create_task(background(deps)) if background else None
        try:
            yield deps
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await http.aclose()
            await pool.close()

    return service.app(resources)


def create_orchestrator_app(settings: Settings | None = None) -> FastAPI:
    """Group `codereview-orchestrator` on review.requested."""

    def subscribe(service: ConsumerService[ReviewDeps]) -> None:
        service.consume(REVIEW_REQUESTED, service.name, orchestrate)

    return _service(settings or get_settings(), "codereview-orchestrator", subscribe)


def create_agents_app(agents: Sequence[ReviewAgent] = ALL_AGENTS, settings: Settings | None = None) -> FastAPI:
    """One consumer group per agent (`codereview-<agent>`) on review.tasks, in one process."""

    def subscribe(service: ConsumerService[ReviewDeps]) -> None:
        for agent in agents:
            consume_tasks(service, agent)

    name = "codereview-agents" if len(agents) > 1 else f"codereview-{agents[0]}"
    return _service(settings or get_settings(), name, subscribe)


def consume_tasks(service: ConsumerService[ReviewDeps], agent: ReviewAgent) -> None:
    """Agent `agent`'s consumer: its own group, its own tasks only; a dead-lettered task is
    reported as a failed agent so the review does not wait for the deadline."""

    async def handle(task: ReviewTask, deps: ReviewDeps) -> None:
        if task.agent == agent:
            await review_task(task, deps)

    async def on_dead_letter(task: Any, reason: str) -> None:
        if isinstance(task, ReviewTask) and task.agent == agent:
            await report_failure(task, reason, service.deps)

    concurrency = service.settings.codereview.agent_concurrency
    service.consume(
        REVIEW_TASKS,
        f"codereview-{agent}",
        handle,
        batch_size=concurrency * 2,
        concurrency=concurrency,
        on_dead_letter=on_dead_letter,
    )


def create_aggregator_app(settings: Settings | None = None) -> FastAPI:
    """Group `codereview-aggregator` on review.findings, and the deadline sweep."""
    s = settings or get_settings()

    def subscribe(service: ConsumerService[ReviewDeps]) -> None:
        service.consume(REVIEW_FINDINGS, service.name, collect_report)

    async def sweep(deps: ReviewDeps) -> None:
        while True:
            await asyncio.sleep(s.codereview.sweep_every_s)
            try:
                await sweep_deadlines(deps, stale_after_s=max(30.0, s.codereview.deadline_s / 2))
            except Exception:  # the next sweep tries again; a crash here would stop every deadline
                log.exception("deadline sweep failed")

    return _service(s, "codereview-aggregator", subscribe, background=sweep)


def create_publisher_app(settings: Settings | None = None) -> FastAPI:
    """Group `codereview-publisher` on review.ready."""

    def subscribe(service: ConsumerService[ReviewDeps]) -> None:
        service.consume(REVIEW_READY, service.name, publish_review)

    return _service(settings or get_settings(), "codereview-publisher", subscribe)
