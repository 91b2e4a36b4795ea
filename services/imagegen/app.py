"""Imagegen consumer wiring: `image.requested` -> Temporal saga, plus ops routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.broker import create_broker
from services.common.clients import create_temporal_client
from services.common.consumer import consume
from services.common.events import ImageRequested
from services.common.http import ReadyCheck, consumer_service
from services.common.settings import Settings, get_settings
from services.common.telemetry import setup_telemetry
from services.common.topics import IMAGE_REQUESTED
from services.imagegen.handlers import SagaStarter, TemporalSagaStarter, start_image_saga

SERVICE = "imagegen"
GROUP = "imagegen"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The consumer as an ASGI app (Temporal client and broker connected in its lifespan)."""
    settings = settings or get_settings()
    setup_telemetry(settings, SERVICE)
    broker = create_broker(settings, SERVICE)
    starters: list[SagaStarter] = []

    async def on_image_requested(event: ImageRequested) -> None:
        await start_image_saga(event, starters[0], settings)

    consume(broker, IMAGE_REQUESTED, GROUP, on_image_requested, settings)

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[None]:
        app.state.temporal = client = await create_temporal_client(settings)
        starters.append(TemporalSagaStarter(client))
        yield

    def temporal_ready(app: FastAPI) -> ReadyCheck:
        async def ready() -> None:
            await app.state.temporal.service_client.check_health()

        return ready

    return consumer_service("forgeline-imagegen", broker, resources, {"temporal": temporal_ready}, postgres=False)
