"""The spine's round trip over HTTP: send a message, read its state.

An accepted echo is remembered in Redis (a day) so `GET` answers `queued` from the moment of
the 202 until the consumer's row exists; a Postgres write on this hot path would cost the spine
its throughput, and a forgotten `queued` costs nothing (the row, once written, is the truth).
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from services.common.events import EchoRequested, PlainText
from services.common.topics import ECHO_REQUESTED
from services.gateway.auth import Caller
from services.gateway.errors import AUTHED, LOCATION, publish_or_503, responses

ACCEPTED_TTL_S = 86_400


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

    @router.post("", status_code=202, response_model=Accepted, responses=LOCATION | responses(400, 413, 422, 503))
    async def post_echo(body: EchoRequest, tenant: Caller, request: Request, response: Response) -> Accepted:
        """Send a message round the platform; `echo.completed` arrives on the event stream."""
        event = EchoRequested(tenant_id=tenant.id, message=body.message)
        await request.app.state.redis.set(f"echo:{event.echo_id}", str(tenant.id), ex=ACCEPTED_TTL_S)
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
        if await request.app.state.redis.get(f"echo:{echo_id}") == str(tenant.id).encode():
            return EchoStatus(echo_id=echo_id, status="queued", processed_by=None, processed_at=None)
        raise HTTPException(404, f"no echo {echo_id} for this tenant")

    return router
