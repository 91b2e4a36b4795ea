"""Moderation wiring: one process per tier, each its own consumer group and ops routes.

python -m services.moderation rules        content.submitted -> decided | moderation.tier2
python -m services.moderation classifier   moderation.tier2  -> decided | moderation.tier3
python -m services.moderation judge        moderation.tier3  -> decided | review queue
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.common.clients import create_pg_pool
from services.common.events import ContentSubmitted, ModerationTask
from services.common.llm import create_llm
from services.common.service import ConsumerService
from services.common.settings import Settings, get_settings
from services.common.topics import CONTENT_SUBMITTED, MODERATION_TIER2, MODERATION_TIER3, TopicSpec
from services.moderation.handlers import (
    ClassifierDeps,
    JudgeDeps,
    RulesDeps,
    ServeClassifier,
    TierDeps,
    classify_task,
    classify_url,
    judge_task,
    moderate_submitted,
)
from services.moderation.policy import configured_policy
from services.moderation.rules import RuleBook


def _tier_service(
    settings: Settings,
    name: str,
    source: TopicSpec,
    handler: Callable[[Any, Any], Awaitable[object]],
    make_deps: Callable[[TierDeps, httpx.AsyncClient], TierDeps],
) -> FastAPI:
    """A consumer service for one tier: batched reads of `source`, `handler(event, deps)`."""
    service = ConsumerService[TierDeps](name, settings)
    service.consume(source, name, handler, batch_size=settings.moderation.batch_size, concurrency=settings.moderation.concurrency)

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[TierDeps]:
        app.state.pool = pool = await create_pg_pool(settings, max_size=settings.moderation.concurrency + 4)
        http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=settings.client.timeout_s))
        try:
            yield make_deps(TierDeps(pool=pool, publish=service.publish(), service=name), http)
        finally:
            await http.aclose()
            await pool.close()

    return service.app(resources)


def create_rules_app(settings: Settings | None = None) -> FastAPI:
    """Tier 1: group `moderation-rules` on content.submitted."""
    settings = settings or get_settings()
    book = RuleBook(configured_policy(settings.moderation.policy_path))

    async def handle(event: ContentSubmitted, deps: RulesDeps) -> None:
        await moderate_submitted(event, deps)

    return _tier_service(
        settings, "moderation-rules", CONTENT_SUBMITTED, handle, lambda base, _: RulesDeps(**vars(base), rules=book)
    )


def create_classifier_app(settings: Settings | None = None) -> FastAPI:
    """Tier 2: group `moderation-classifier` on moderation.tier2, scoring through Ray Serve."""
    settings = settings or get_settings()
    url = classify_url(settings.serve_base_url)

    async def handle(task: ModerationTask, deps: ClassifierDeps) -> None:
        await classify_task(task, deps)

    return _tier_service(
        settings,
        "moderation-classifier",
        MODERATION_TIER2,
        handle,
        lambda base, http: ClassifierDeps(
            **vars(base),
            # The records handled side by side fill one request: a full one goes at once.
            classify=ServeClassifier(http, url, asyncio.sleep, max_texts=settings.moderation.concurrency),
        ),
    )


def create_judge_app(settings: Settings | None = None) -> FastAPI:
    """Tier 3: group `moderation-judge` on moderation.tier3, asking the configured LLM."""
    settings = settings or get_settings()
    s = settings
    policy = configured_policy(s.moderation.policy_path)

    async def handle(task: ModerationTask, deps: JudgeDeps) -> None:
        await judge_task(task, deps)

    return _tier_service(
        settings,
        "moderation-judge",
        MODERATION_TIER3,
        handle,
        lambda base, http: JudgeDeps(
            **vars(base),
            llm=create_llm(s, http),
            policy=policy,
            min_confidence=s.moderation.judge_min_confidence,
            max_attempts=s.moderation.judge_attempts,
        ),
    )
