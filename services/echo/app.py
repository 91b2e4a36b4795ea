"""Echo service wiring: the consumer, its Postgres pool, ops routes."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.broker import publish_event
from services.common.clients import create_pg_pool
from services.common.events import EchoCompleted
from services.common.faults import faults
from services.common.idempotency import IdempotencyStore
from services.common.service import ConsumerService
from services.common.settings import Settings, get_settings
from services.common.topics import ECHO_COMPLETED, ECHO_REQUESTED
from services.echo.handlers import EchoDeps, record_echo

SERVICE = "echo"
GROUP = "echo"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The echo service as an ASGI app (consumer started in its lifespan)."""
    settings = settings or get_settings()
    service = ConsumerService[EchoDeps](SERVICE, settings)
    service.consume(
        ECHO_REQUESTED, GROUP, record_echo, batch_size=settings.echo.batch_size, concurrency=settings.echo.concurrency
    )

    async def publish_completed(event: EchoCompleted) -> None:
        await publish_event(service.broker, ECHO_COMPLETED, event)

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[EchoDeps]:
        app.state.pool = pool = await create_pg_pool(settings, max_size=settings.echo.concurrency)
        instance = f"{socket.gethostname()}:{os.getpid()}"
        try:
            yield EchoDeps(IdempotencyStore(pool, GROUP), publish_completed, faults(), instance)
        finally:
            await pool.close()

    return service.app(resources)
