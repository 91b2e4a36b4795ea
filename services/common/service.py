"""The one consumer-service shell: telemetry, the broker, the resources opened at start and
the dependencies every handler of the service gets.

A service declares its subscriptions on a `ConsumerService[D]` with handlers of the form
`async def handler(event, deps: D)`, and opens its clients in a `resources` context manager
that yields the `D` those handlers receive. The shell runs the broker while the app runs and
serves `/healthz`, `/readyz` and `/metrics`:

    service = ConsumerService[EchoDeps]("echo", settings)
    service.consume(ECHO_REQUESTED, "echo", record_echo)

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[EchoDeps]:
        ...
        yield EchoDeps(...)

    return service.app(resources)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

from fastapi import FastAPI

from services.common.broker import Publish, create_broker, publisher
from services.common.consumer import consume
from services.common.http import ReadyCheck, consumer_service
from services.common.settings import Settings
from services.common.telemetry import setup_telemetry
from services.common.topics import TopicSpec, consumer_group

D = TypeVar("D")


class ConsumerService(Generic[D]):
    """One consumer service process (see the module's docstring)."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        setup_telemetry(settings, name)
        self.broker = create_broker(settings, name)
        self._deps: D | None = None

    @property
    def deps(self) -> D:
        """The handlers' dependencies; they exist once the service has started."""
        if self._deps is None:
            raise RuntimeError(f"{self.name} has not started: its resources are not open")
        return self._deps

    def publish(self) -> Publish:
        """`publish_event` bound to this service's broker (what handlers that publish take)."""
        return publisher(self.broker)

    def consume(self, spec: TopicSpec, group: str, handler: Callable[[Any, D], Awaitable[object]], **options: Any) -> None:
        """Subscribe `handler(event, deps)` under the one consumer policy (`consume`'s options);
        the group must be registered in `CONSUMER_GROUPS`."""
        consumer_group(group, spec)

        async def with_deps(event: Any) -> None:
            await handler(event, self.deps)

        consume(self.broker, spec, group, with_deps, self.settings, **options)

    def app(
        self,
        resources: Callable[[FastAPI], AbstractAsyncContextManager[D]],
        checks: dict[str, Callable[[FastAPI], ReadyCheck]] | None = None,
        postgres: bool = True,
    ) -> FastAPI:
        """The ASGI app: opens `resources` (their `D` becomes the handlers' deps), then runs the
        broker; readiness checks Kafka, `app.state.pool` (with `postgres`) and any `checks`."""

        @asynccontextmanager
        async def opened(app: FastAPI) -> AsyncIterator[None]:
            async with resources(app) as deps:
                self._deps = deps
                try:
                    yield
                finally:
                    self._deps = None

        return consumer_service(f"forgeline-{self.name}", self.broker, opened, checks, postgres)
