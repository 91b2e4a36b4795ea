"""Operational HTTP routes every service exposes: `/healthz`, `/readyz`, `/metrics`.

These three are the only unauthenticated routes in the platform.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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


def bind_host() -> str:
    """Where services listen: 127.0.0.1 locally; FORGELINE_BIND_HOST=0.0.0.0 in a pod."""
    return os.environ.get("FORGELINE_BIND_HOST", "127.0.0.1")


def serve(app: FastAPI, port: int) -> None:
    """Run an ASGI app on the bind host (the supervisor's and Kubernetes' probes reach it there)."""
    import uvicorn

    uvicorn.run(app, host=bind_host(), port=port, log_level="warning", access_log=False, lifespan="on")
