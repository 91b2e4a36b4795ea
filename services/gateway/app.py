"""Gateway wiring: FastAPI app, auth, rate limits, the echo endpoints, live updates, API docs."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from prometheus_client import Histogram
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.broker import broker_ready, create_broker, kafka_client_options, publish_event
from services.common.clients import create_pg_pool, create_redis, create_s3
from services.common.events import EchoRequested
from services.common.http import add_ops_routes, freeze_startup_heap, http_telemetry
from services.common.settings import Settings, get_settings
from services.common.telemetry import setup_telemetry, shutdown_telemetry
from services.common.topics import ECHO_REQUESTED, LIVE_TOPICS
from services.gateway.asyncapi import asyncapi_document
from services.gateway.auth import Caller
from services.gateway.carts import cart_routes
from services.gateway.content import content_routes, review_routes
from services.gateway.errors import BodySizeLimit, install_error_handlers
from services.gateway.images import image_routes
from services.gateway.live import LiveHub, follow, sse_frame
from services.gateway.ratelimit import RateLimiter
from services.gateway.tenants import TenantDirectory
from services.gateway.webhooks import webhook_routes

SERVICE = "gateway"
VERSION = "0.1.0"
HTTP_SECONDS = Histogram("forgeline_http_request_seconds", "Gateway request latency.", ["method", "route", "status"])


class EchoRequest(BaseModel):
    """Body of `POST /v1/echo`."""

    message: str = Field(min_length=1, max_length=4000, description="Text to send round the platform.")


class Accepted(BaseModel):
    """202 answer: the work is queued; follow it at the URLs."""

    echo_id: uuid.UUID
    status: str = "queued"
    status_url: str
    events_url: str


class EchoStatus(BaseModel):
    """State of one echo round trip."""

    echo_id: uuid.UUID
    status: str
    processed_by: str
    processed_at: str


class TenantView(BaseModel):
    """What a tenant sees of itself."""

    id: uuid.UUID
    name: str
    role: str
    credits: int


class HttpMetrics:
    """Request count and latency per route template (pure ASGI: cheap on the hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = 500

        async def capture(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_SECONDS.labels(scope["method"], path, str(code)).observe(time.perf_counter() - start)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway as an ASGI app; clients connect in its lifespan."""
    settings = settings or get_settings()
    setup_telemetry(settings, SERVICE)
    broker = create_broker(settings, SERVICE)
    hub = LiveHub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.pool = await create_pg_pool(settings, max_size=20)
        app.state.redis = create_redis(settings)
        app.state.tenants = TenantDirectory(app.state.pool, settings.auth_cache_ttl_s)
        app.state.limiter = RateLimiter(app.state.redis, settings.rate_limit_per_second, settings.rate_limit_burst)
        await broker.start()
        # Every replica reads every completion (no group, from now on): see services/gateway/live.py.
        completions = AIOKafkaConsumer(
            *(t.name for t in LIVE_TOPICS), **kafka_client_options(settings), group_id=None, auto_offset_reset="latest"
        )
        await completions.start()
        relaying = asyncio.create_task(follow(hub, completions))
        freeze_startup_heap()
        try:
            yield
        finally:
            relaying.cancel()
            with suppress(asyncio.CancelledError):
                await relaying
            await completions.stop()
            await broker.stop()
            await app.state.redis.aclose()
            await app.state.pool.close()
            shutdown_telemetry()

    app = FastAPI(
        title="Forgeline API",
        version=VERSION,
        description=(
            "Event-driven GenAI platform. Every endpoint but /healthz, /readyz and /metrics "
            "needs `Authorization: Bearer <API key>`."
        ),
        lifespan=lifespan,
        # The documents below need a key like every other route, so no anonymous Swagger UI.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=http_telemetry(),
    )
    install_error_handlers(app)
    app.include_router(image_routes(broker, hub, settings, create_s3(settings)))
    app.include_router(cart_routes(broker))
    app.include_router(content_routes(broker, settings))
    app.include_router(review_routes(broker, settings))
    app.include_router(webhook_routes(broker, settings))

    @app.get("/v1/tenants/me", response_model=TenantView, tags=["tenants"])
    async def me(tenant: Caller, request: Request) -> TenantView:
        """The calling tenant, with its current credit balance."""
        fresh = await request.app.state.tenants.get(tenant.id)
        return TenantView(**(fresh or tenant).model_dump())

    @app.post("/v1/echo", status_code=202, response_model=Accepted, tags=["echo"])
    async def post_echo(body: EchoRequest, tenant: Caller) -> Accepted:
        """Send a message round the platform; `echo.completed` arrives on the event stream."""
        event = EchoRequested(tenant_id=tenant.id, message=body.message)
        await publish_event(broker, ECHO_REQUESTED, event)
        return Accepted(echo_id=event.echo_id, status_url=f"/v1/echo/{event.echo_id}", events_url="/v1/events")

    @app.get("/v1/echo/{echo_id}", response_model=EchoStatus, tags=["echo"])
    async def get_echo(echo_id: uuid.UUID, tenant: Caller, request: Request) -> EchoStatus:
        """State of one of the caller's echoes. Another tenant's echo is reported as not found."""
        row = await request.app.state.pool.fetchrow(
            "SELECT echo_id, processed_by, created_at FROM echo_log WHERE echo_id = $1 AND tenant_id = $2 ORDER BY id LIMIT 1",
            echo_id,
            tenant.id,
        )
        if row is None:
            raise HTTPException(404, f"no processed echo {echo_id} for this tenant (it may still be queued)")
        return EchoStatus(
            echo_id=row["echo_id"], status="done", processed_by=row["processed_by"], processed_at=row["created_at"].isoformat()
        )

    @app.get("/v1/events", tags=["live"], response_class=EventSourceResponse)
    async def events(tenant: Caller, request: Request) -> EventSourceResponse:
        """Server-Sent Events: every completion event of the caller's tenant, as it happens."""

        async def stream() -> AsyncIterator[dict[str, str]]:
            with hub.subscribe(tenant.id) as queue:
                yield {"event": "ready", "data": "{}"}
                while not await request.is_disconnected():
                    try:
                        update = await asyncio.wait_for(queue.get(), timeout=1.0)
                    except TimeoutError:
                        continue
                    yield sse_frame(update)

        return EventSourceResponse(stream(), ping=15)

    @app.websocket("/v1/ws")
    async def ws(websocket: WebSocket) -> None:
        """WebSocket: the same updates as /v1/events, as JSON messages."""
        auth = websocket.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        tenant = await websocket.app.state.tenants.by_api_key(key) if scheme.lower() == "bearer" and key else None
        await websocket.accept()  # accept first so a browser client can read why it is closed
        if tenant is None:
            await websocket.close(code=4401, reason="send 'Authorization: Bearer <key>' with the upgrade request")
            return
        with hub.subscribe(tenant.id) as queue:
            await websocket.send_json({"type": "ready"})
            receiver = asyncio.create_task(_drain(websocket))
            try:
                while not receiver.done():
                    try:
                        update = await asyncio.wait_for(queue.get(), timeout=1.0)
                    except TimeoutError:
                        continue
                    await websocket.send_json({"type": "event", **update})
            except WebSocketDisconnect:
                pass
            finally:
                receiver.cancel()

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(tenant: Caller) -> dict[str, Any]:
        return app.openapi()

    events_document = asyncapi_document(VERSION)  # the registry is static: build it once

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi(tenant: Caller) -> dict[str, Any]:
        return events_document

    async def postgres_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    async def redis_ready() -> None:
        await app.state.redis.ping()

    add_ops_routes(app, {"postgres": postgres_ready, "redis": redis_ready, "kafka": broker_ready(broker)})
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.api_max_body_bytes,
        larger={
            "/v1/content/batch": settings.moderation_batch_max_bytes,
            "/v1/webhooks/github": settings.github_webhook_max_bytes,
        },
    )
    app.add_middleware(HttpMetrics)
    return app


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until it disconnects."""
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
