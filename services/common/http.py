"""Operational HTTP routes every service exposes: `/healthz`, `/readyz`, `/metrics`.

These three are the only unauthenticated routes in the platform.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.telemetry import TelemetryConfig
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
            freeze_startup_heap()
            try:
                yield
            finally:
                await broker.stop()
                shutdown_telemetry()

    app = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None, telemetry=http_telemetry())

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

    return get_settings().bind_host


def listen_port(own_port: int) -> int:
    """The service's own port, unless FORGELINE_PORT names one for every service (containers)."""
    from services.common.settings import get_settings

    return get_settings().port or own_port


OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _is_ops_request(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in OPS_PATHS


def http_telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry, as every service app uses it: one server span per request,
    continuing the caller's trace; probes and scrapes get none (they would drown the real
    requests), and no spans per dependency or serialization step (they tripled the hot path's
    tracing cost for detail nobody reads)."""
    return {"operation_spans": False, "logs": False, "exclude": _is_ops_request}


def freeze_startup_heap() -> None:
    """Move everything allocated during start-up out of the garbage collector's sight.

    Imports and app set-up leave ~100,000 long-lived objects; every full collection walked
    them all (~35 ms, with every in-flight request waiting), which made a service's p99
    latency three times its p50 under load. Frozen, a full collection sees only new objects.
    """
    gc.collect()
    gc.freeze()


def serve(app: FastAPI, port: int) -> None:
    """Run an ASGI app on the bind host (the supervisor's and Kubernetes' probes reach it there)."""
    import uvicorn

    uvicorn.run(app, host=bind_host(), port=listen_port(port), log_level="warning", access_log=False, lifespan="on")


def service_cli(
    doc: str | None, roles: dict[str, str] | None = None, argv: list[str] | None = None, takes_names: bool = False
) -> argparse.Namespace:
    """Parse a service's command line: `--help` says what it runs, its roles and how it is configured.

    `roles` maps each role name to a line of help; the chosen one is `args.role`. With
    `takes_names`, the words after the role are `args.names`.
    """
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    description = (doc or "").strip()
    if roles:
        description += "\n\nroles:\n" + "\n".join(f"  {name:<13} {text}" for name, text in roles.items())
    parser = argparse.ArgumentParser(
        prog=f"python -m {spec.name.removesuffix('.__main__')}" if spec else None,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Configured from the environment (services/common/settings.py): endpoints such as "
            "KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL, TEMPORAL_ADDRESS, S3_ENDPOINT_URL; "
            "FORGELINE_BIND_HOST and FORGELINE_PORT choose where it listens. Health: GET /healthz, "
            "readiness: GET /readyz, metrics: GET /metrics."
        ),
    )
    if roles:
        parser.add_argument("role", choices=list(roles), help="what this process runs (see roles above)")
        if takes_names:
            parser.add_argument("names", nargs="*", metavar="NAME", help="which ones (see roles above)")
    return parser.parse_args(argv)
