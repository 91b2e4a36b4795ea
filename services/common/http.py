"""Operational HTTP routes every service exposes: `/healthz`, `/readyz`, `/metrics`.

These three are the only unauthenticated routes in the platform.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Response
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.common.broker import broker_ready
from services.common.telemetry import shutdown_telemetry

ReadyCheck = Callable[[], Awaitable[None]]


def add_ops_routes(app: FastAPI, checks: dict[str, ReadyCheck], timeout_s: float = 3.0) -> None:
    """Liveness, readiness (each dependency checked for real) and Prometheus metrics."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, object]:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout_s)
                results[name] = "ok"
            except Exception as error:  # report, never raise: this is a probe
                results[name] = f"{type(error).__name__}: {error}"[:200]
        ready = all(v == "ok" for v in results.values())
        response.status_code = 200 if ready else 503
        return {"ready": ready, "checks": results}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


Resources = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def consumer_service(
    title: str,
    broker: KafkaBroker,
    resources: Resources,
    checks: dict[str, Callable[[FastAPI], ReadyCheck]] | None = None,
    postgres: bool = True,
) -> FastAPI:
    """The shell of a consumer service: open `resources(app)` (clients, into `app.state`), run
    the broker while the app runs, stop both in reverse, and serve the ops routes. Kafka and
    (with `postgres`) `app.state.pool` are checked for readiness, plus any `checks`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with resources(app):
            await broker.start()
            try:
                yield
            finally:
                await broker.stop()
                shutdown_telemetry()

    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None)

    async def postgres_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    ready: dict[str, ReadyCheck] = {"kafka": broker_ready(broker)}
    if postgres:
        ready["postgres"] = postgres_ready
    ready.update({name: make(app) for name, make in (checks or {}).items()})
    add_ops_routes(app, ready)
    return app


def bind_host() -> str:
    """Where services listen: 127.0.0.1 locally; FORGELINE_BIND_HOST=0.0.0.0 in a pod."""
    from services.common.settings import get_settings

    return get_settings().forgeline_bind_host


def serve(app: FastAPI, port: int) -> None:
    """Run an ASGI app on the bind host (the supervisor's and Kubernetes' probes reach it there)."""
    import uvicorn

    uvicorn.run(app, host=bind_host(), port=port, log_level="warning", access_log=False, lifespan="on")
