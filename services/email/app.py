"""Email wiring of the composer (cart.abandoned -> email.outbound); the delivery service
(email.outbound -> SMTP) is wired in delivery_app.py. Each is its own process, consumer group
and ops routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.common.broker import publish_event
from services.common.clients import create_pg_pool, create_redis
from services.common.embeddings import embed
from services.common.events import EmailOutbound
from services.common.llm import create_llm
from services.common.service import ConsumerService
from services.common.settings import Settings, get_settings
from services.common.topics import CART_ABANDONED, EMAIL_OUTBOUND
from services.email.context import ItemCatalogue
from services.email.guardrails import ToxicityGuard
from services.email.handlers import ComposeDeps, compose_email
from services.email.retrieval import TemplateIndex, create_qdrant
from services.moderation.handlers import ServeClassifier, classify_url
from services.moderation.policy import configured_policy
from services.moderation.rules import RuleBook


def create_composer_app(settings: Settings | None = None) -> FastAPI:
    """`python -m services.email compose`: group `email-composer` on cart.abandoned."""
    settings = settings or get_settings()
    rules = RuleBook(configured_policy(settings.moderation.policy_path)).for_country(settings.email.policy_country)
    service = ConsumerService[ComposeDeps]("email-composer", settings)
    service.consume(
        CART_ABANDONED,
        service.name,
        compose_email,
        batch_size=settings.email.batch_size,
        concurrency=settings.email.concurrency,
    )

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[ComposeDeps]:
        app.state.pool = pool = await create_pg_pool(settings, max_size=settings.email.concurrency + 4)
        redis = create_redis(settings)
        http = httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=settings.client.timeout_s))
        qdrant = create_qdrant(settings.endpoints.qdrant_url, settings.state_dir, service.name)
        index = TemplateIndex(qdrant, pool)
        await index.ensure_collection()
        await embed(["warm-up"])  # load MiniLM now (~5 s), not inside the first cart's latency

        async def publish(event: EmailOutbound) -> None:
            await publish_event(service.broker, EMAIL_OUTBOUND, event)

        try:
            yield ComposeDeps(
                pool=pool,
                catalogue=ItemCatalogue(pool, redis, settings.email.item_cache_ttl_s),
                index=index,
                llm=create_llm(settings, http),
                publish=publish,
                cart_url=settings.email.shop_url,
                offbrand_terms=settings.email.offbrand_terms,
                allowed_domains=settings.email.allowed_link_domains,
                max_attempts=settings.email.generation_attempts,
                # The moderation classifier's deployment: the drafts handled side by side fill one request.
                toxicity=ToxicityGuard(
                    rules,
                    ServeClassifier(
                        http, classify_url(settings.serve_base_url), asyncio.sleep, max_texts=settings.email.concurrency
                    ),
                    settings.email.max_toxicity,
                    frozenset(settings.email.refused_signals),
                ),
            )
        finally:
            await qdrant.close()
            await http.aclose()
            await redis.aclose()
            await pool.close()

    return service.app(resources)
