"""Wiring of the delivery service, apart from the composer's (services/email/app.py): it
sends mail and loads no model, so it runs in the thin image, which lacks the composer's
embedding model and vector store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.broker import publish_event
from services.common.clients import create_pg_pool
from services.common.events import EmailDelivered, EmailFailed, EmailOutbound
from services.common.faults import faults
from services.common.service import ConsumerService
from services.common.settings import Settings, get_settings
from services.common.topics import EMAIL_DELIVERED, EMAIL_FAILED, EMAIL_OUTBOUND
from services.email.delivery import DeliveryDeps, SmtpMailer, dead_lettered, deliver_email


def create_delivery_app(settings: Settings | None = None) -> FastAPI:
    """`python -m services.email deliver`: group `email-delivery` on email.outbound."""
    settings = settings or get_settings()
    service = ConsumerService[DeliveryDeps]("email-delivery", settings)

    async def on_dead_letter(event: EmailOutbound, reason: str) -> None:
        await publish_event(service.broker, EMAIL_FAILED, dead_lettered(event, reason))

    service.consume(
        EMAIL_OUTBOUND,
        service.name,
        deliver_email,
        batch_size=settings.email.batch_size,
        concurrency=settings.email.concurrency,
        on_dead_letter=on_dead_letter,
    )

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[DeliveryDeps]:
        if not settings.endpoints.smtp_host:
            raise RuntimeError("SMTP_HOST is not set: run `forgeline up` (it starts an SMTP sink) or point it at a server")
        app.state.pool = pool = await create_pg_pool(settings, max_size=settings.email.concurrency + 4)

        async def delivered(event: EmailDelivered) -> None:
            await publish_event(service.broker, EMAIL_DELIVERED, event)

        async def failed(event: EmailFailed) -> None:
            await publish_event(service.broker, EMAIL_FAILED, event)

        try:
            yield DeliveryDeps(
                pool=pool,
                mailer=SmtpMailer(settings.endpoints.smtp_host, settings.endpoints.smtp_port, settings.client.timeout_s),
                publish_delivered=delivered,
                publish_failed=failed,
                faults=faults(),
                sender=settings.email.sender,
                cap_hours=settings.email.frequency_cap_hours,
            )
        finally:
            await pool.close()

    return service.app(resources)
