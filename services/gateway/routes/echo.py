"""The spine's round trip over HTTP: send a message, read its state.

An accepted echo is remembered in Redis (a day) so `GET` answers `queued` from the moment of
the 202 until the consumer's row exists; a Postgres write on this hot path would cost the spine
its throughput. It is best effort: with Redis down the echo still goes (the gateway serves
without Redis) and `GET` says 404 until the consumer's row, which is the truth, exists.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from services.common.events import EchoRequested, PlainText
from services.common.topics import ECHO_REQUESTED
from services.gateway.auth import Caller
from services.gateway.errors import AUTHED, LOCATION, publish_or_503, responses
from services.gateway.ratelimit import REDIS_DOWN, REDIS_RETRY_AFTER_S

ACCEPTED_TTL_S = 86_400
log = logging.getLogger("forgeline.gateway.echo")


@dataclass
class AcceptedEchoes:
    """Which tenant's echo each accepted id is, in Redis; not asked for a while after it failed."""

    redis: Redis
    down_until: float = 0.0

    async def remember(self, echo_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        await self._ask(lambda: self.redis.set(f"echo:{echo_id}", str(tenant_id), ex=ACCEPTED_TTL_S))

    async def owner(self, echo_id: uuid.UUID) -> bytes | None:
        found: bytes | None = await self._ask(lambda: self.redis.get(f"echo:{echo_id}"))
        return found

    async def _ask(self, call: Callable[[], Awaitable[Any]]) -> Any:
        if time.monotonic() < self.down_until:
            return None
        try:
            return await call()
        except REDIS_DOWN as error:
            self.down_until = time.monotonic() + REDIS_RETRY_AFTER_S
            log.warning("echoes not remembered for %.0fs, Redis unavailable: %s", REDIS_RETRY_AFTER_S, type(error).__name__)
            return None


class EchoRequest(BaseModel):
    """Body of `POST /v1/echo`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"message": "hello, platform"}]})

    message: PlainText = Field(min_length=1, max_length=4000, description="Text to send round the platform.")


class Accepted(BaseModel):
    """202 answer: the work is queued; follow it at the URLs."""

    echo_id: uuid.UUID
    status: Literal["queued"] = "queued"
    status_url: str
    events_url: str


class EchoStatus(BaseModel):
    """State of one echo round trip: `queued` until the echo consumer has written it."""

    echo_id: uuid.UUID
    status: Literal["queued", "done"]
    processed_by: str | None
    processed_at: str | None


def echo_routes(broker: KafkaBroker) -> APIRouter:
    """`POST /v1/echo` and `GET /v1/echo/{echo_id}`."""
    router = APIRouter(prefix="/v1/echo", tags=["echo"], responses=AUTHED)
    accepted: AcceptedEchoes | None = None

    def remembered(request: Request) -> AcceptedEchoes:
        nonlocal accepted
        if accepted is None:  # the client exists once the app's lifespan has started
            accepted = AcceptedEchoes(request.app.state.redis)
        return accepted

    @router.post("", status_code=202, response_model=Accepted, responses=LOCATION | responses(400, 413, 422, 503))
    async def post_echo(body: EchoRequest, tenant: Caller, request: Request, response: Response) -> Accepted:
        """Send a message round the platform; `echo.completed` arrives on the event stream."""
        event = EchoRequested(tenant_id=tenant.id, message=body.message)
        await remembered(request).remember(event.echo_id, tenant.id)
        await publish_or_503(broker, ECHO_REQUESTED, event, "the echo")
        response.headers["Location"] = status_url = f"/v1/echo/{event.echo_id}"
        return Accepted(echo_id=event.echo_id, status_url=status_url, events_url="/v1/events")

    @router.get("/{echo_id}", response_model=EchoStatus, responses=responses(404, 422))
    async def get_echo(echo_id: uuid.UUID, tenant: Caller, request: Request) -> EchoStatus:
        """State of one of the caller's echoes. Another tenant's echo is reported as not found."""
        row = await request.app.state.pool.fetchrow(
            "SELECT echo_id, processed_by, created_at FROM echo_log WHERE echo_id = $1 AND tenant_id = $2 ORDER BY id LIMIT 1",
            echo_id,
            tenant.id,
        )
        if row is not None:
            return EchoStatus(
                echo_id=echo_id, status="done", processed_by=row["processed_by"], processed_at=row["created_at"].isoformat()
            )
        if await remembered(request).owner(echo_id) == str(tenant.id).encode():
            return EchoStatus(echo_id=echo_id, status="queued", processed_by=None, processed_at=None)
        raise HTTPException(404, f"no echo {echo_id} for this tenant")

    return router
