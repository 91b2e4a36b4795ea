"""Echo service wiring: broker, consumer policy, Postgres pool, ops routes."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.broker import create_broker, publish_event
from services.common.clients import create_pg_pool
from services.common.consumer import consume
from services.common.events import EchoCompleted, EchoRequested
from services.common.faults import faults
from services.common.http import consumer_service
from services.common.idempotency import IdempotencyStore
from services.common.settings import Settings, get_settings
from services.common.telemetry import setup_telemetry
from services.common.topics import ECHO_COMPLETED, ECHO_REQUESTED
from services.echo.handlers import EchoDeps, record_echo

SERVICE = "echo"
GROUP = "echo"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The echo service as an ASGI app (consumer started in its lifespan)."""
    settings = settings or get_settings()
    setup_telemetry(settings, SERVICE)
    broker = create_broker(settings, SERVICE)
    deps: list[EchoDeps] = []

    async def publish_completed(event: EchoCompleted) -> None:
        await publish_event(broker, ECHO_COMPLETED, event)

    async def on_echo_requested(event: EchoRequested) -> None:
        await record_echo(event, deps[0])

    consume(
        broker,
        ECHO_REQUESTED,
        GROUP,
        on_echo_requested,
        settings,
        batch_size=settings.echo_batch_size,
        concurrency=settings.echo_concurrency,
    )

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = pool = await create_pg_pool(settings, max_size=settings.echo_concurrency)
        instance = f"{socket.gethostname()}:{os.getpid()}"
        deps.append(EchoDeps(IdempotencyStore(pool, GROUP), publish_completed, faults(), instance))
        try:
            yield
        finally:
            await pool.close()

    return consumer_service("forgeline-echo", broker, resources)
