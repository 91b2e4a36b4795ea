"""Imagegen consumer wiring: `image.requested` -> Temporal saga, `image.cancel` -> its cancel, plus ops routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.clients import create_temporal_client
from services.common.events import ImageCancelRequested, ImageRequested
from services.common.http import ReadyCheck
from services.common.service import ConsumerService
from services.common.settings import Settings, get_settings
from services.common.topics import IMAGE_CANCEL, IMAGE_REQUESTED
from services.imagegen.handlers import SagaStarter, TemporalSagaStarter, cancel_image_saga, start_image_saga

SERVICE = "imagegen"
GROUP = "imagegen"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The consumer as an ASGI app (Temporal client and broker connected in its lifespan)."""
    settings = settings or get_settings()
    service = ConsumerService[SagaStarter](SERVICE, settings)

    async def on_image_requested(event: ImageRequested, starter: SagaStarter) -> None:
        await start_image_saga(event, starter, settings)

    async def on_image_cancel(event: ImageCancelRequested, starter: SagaStarter) -> None:
        await cancel_image_saga(event, starter)

    service.consume(IMAGE_REQUESTED, GROUP, on_image_requested)
    service.consume(IMAGE_CANCEL, GROUP, on_image_cancel)

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[SagaStarter]:
        app.state.temporal = client = await create_temporal_client(settings)
        yield TemporalSagaStarter(client)

    def temporal_ready(app: FastAPI) -> ReadyCheck:
        async def ready() -> None:
            await app.state.temporal.service_client.check_health()

        return ready

    return service.app(resources, {"temporal": temporal_ready}, postgres=False)
