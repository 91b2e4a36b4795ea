"""Gateway wiring: the FastAPI app, its clients (opened in the lifespan), the routers in
routes/, middlewares and ops routes. The routes live in routes/, one module per group."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.broker import broker_ready, create_broker, kafka_client_options
from services.common.clients import create_pg_pool, create_redis, create_s3
from services.common.http import add_ops_routes, freeze_startup_heap, http_telemetry
from services.common.settings import Settings, get_settings
from services.common.telemetry import setup_telemetry, shutdown_telemetry
from services.common.topics import LIVE_TOPICS
from services.gateway.console.routes import console_routes
from services.gateway.errors import BodySizeLimit, install_error_handlers, responses
from services.gateway.live import LiveHub, follow
from services.gateway.openapi import install_openapi
from services.gateway.ratelimit import RateLimiter
from services.gateway.routes.carts import cart_routes
from services.gateway.routes.codereview import codereview_routes
from services.gateway.routes.content import content_routes
from services.gateway.routes.docs import docs_routes
from services.gateway.routes.drills import drill_routes
from services.gateway.routes.echo import echo_routes
from services.gateway.routes.emails import email_routes
from services.gateway.routes.images import image_routes
from services.gateway.routes.live import live_routes
from services.gateway.routes.review import review_routes
from services.gateway.routes.system import system_routes
from services.gateway.routes.tenants import tenant_routes
from services.gateway.routes.webhooks import webhook_routes
from services.gateway.system import RecentErrors, SystemReader
from services.gateway.tenants import TenantDirectory
from services.moderation.policy import configured_policy

SERVICE = "gateway"
VERSION = "0.1.0"
HTTP_SECONDS = Histogram("forgeline_http_request_seconds", "Gateway request latency.", ["method", "route", "status"])


class HttpMetrics:
    """Request count and latency per route template, and the latest 5xx kept for the console
    (pure ASGI: cheap on the hot path)."""

    def __init__(self, app: ASGIApp, errors: RecentErrors) -> None:
        self.app = app
        self.errors = errors

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
            if code >= 500:
                self.errors.record(scope["method"], path, code)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway as an ASGI app; clients connect in its lifespan."""
    settings = settings or get_settings()
    setup_telemetry(settings, SERVICE)
    broker = create_broker(settings, SERVICE)
    hub = LiveHub()
    errors = RecentErrors()
    system = SystemReader(settings, timeout_s=10.0)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.pool = await create_pg_pool(settings, max_size=20)
        app.state.redis = create_redis(settings)
        app.state.tenants = TenantDirectory(app.state.pool, settings.gateway.auth_cache_ttl_s)
        app.state.limiter = RateLimiter(
            app.state.redis, settings.gateway.rate_limit_per_second, settings.gateway.rate_limit_burst
        )
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
            await system.close()
            await broker.stop()
            await app.state.redis.aclose()
            await app.state.pool.close()
            shutdown_telemetry()

    app = FastAPI(
        title="Forgeline API",
        version=VERSION,
        description=(
            "Event-driven GenAI platform. Every endpoint but /healthz, /readyz and /metrics "
            "needs `Authorization: Bearer <API key>` (the GitHub webhook: GitHub's signature)."
        ),
        lifespan=lifespan,
        responses=responses(500),  # any route can fail on a defect, with the one error model
        # operationId = the handler's name (`submit_image`): what generated clients call it.
        generate_unique_id_function=lambda route: route.name,
        # The documents below need a key like every other route, so no anonymous Swagger UI.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=http_telemetry(),
    )
    install_error_handlers(app)
    install_openapi(app, settings, sorted(configured_policy(settings.moderation.policy_path).countries))
    app.include_router(tenant_routes())
    app.include_router(echo_routes(broker))
    app.include_router(live_routes(hub))
    app.include_router(image_routes(broker, hub, settings, create_s3(settings)))
    app.include_router(cart_routes(broker))
    app.include_router(email_routes())
    app.include_router(content_routes(broker, settings))
    app.include_router(review_routes(broker, settings))
    app.include_router(webhook_routes(broker, settings))
    app.include_router(codereview_routes())
    app.include_router(system_routes(settings, system, errors))
    app.include_router(drill_routes(settings))
    app.include_router(docs_routes(VERSION))
    app.include_router(console_routes(settings))

    async def postgres_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    async def redis_ready() -> None:
        await app.state.redis.ping()

    add_ops_routes(app, {"postgres": postgres_ready, "redis": redis_ready, "kafka": broker_ready(broker)})
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.gateway.max_body_bytes,
        larger={
            "/v1/content/batch": settings.moderation.batch_max_bytes,
            "/v1/webhooks/github": settings.github.webhook_max_bytes,
        },
    )
    app.add_middleware(HttpMetrics, errors=errors)
    return app
