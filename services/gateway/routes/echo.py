"""The spine's round trip over HTTP: send a message, read its state.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid

from fastapi import APIRouter, HTTPException, Request
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, Field

from services.common.broker import publish_event
from services.common.events import EchoRequested
from services.common.topics import ECHO_REQUESTED
from services.gateway.auth import Caller


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


def echo_routes(broker: KafkaBroker) -> APIRouter:
    """`POST /v1/echo` and `GET /v1/echo/{echo_id}`."""
    router = APIRouter(prefix="/v1/echo", tags=["echo"])

    @router.post("", status_code=202, response_model=Accepted)
    async def post_echo(body: EchoRequest, tenant: Caller) -> Accepted:
        """Send a message round the platform; `echo.completed` arrives on the event stream."""
        event = EchoRequested(tenant_id=tenant.id, message=body.message)
        await publish_event(broker, ECHO_REQUESTED, event)
        return Accepted(echo_id=event.echo_id, status_url=f"/v1/echo/{event.echo_id}", events_url="/v1/events")

    @router.get("/{echo_id}", response_model=EchoStatus)
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

    return router
