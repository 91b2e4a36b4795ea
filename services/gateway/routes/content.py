"""Moderation over HTTP for tenants: submit content (one item or a batch), read its decision,
appeal it. Tenants see only their own items; an appeal goes to its own review lane and its
outcome supersedes the original decision, which stays in the audit trail (routes/review.py).
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from services.common.broker import publish_event
from services.common.events import ContentFields, ContentSubmitted, Decision, ModerationDecided, PlainText, ReviewRequested
from services.common.settings import Settings
from services.common.topics import CONTENT_SUBMITTED, MODERATION_REVIEW
from services.gateway.auth import Caller
from services.gateway.errors import AUTHED, LOCATION, responses
from services.gateway.tenants import Tenant
from services.moderation import store
from services.moderation.policy import configured_policy


class ContentRequest(ContentFields):
    """An item to moderate; give your own `content_id` to make retries idempotent."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"text": "Lovely weather for a walk today", "author_id": "user-17", "country": "US"}]},
    )

    content_id: uuid.UUID = Field(default_factory=uuid.uuid4)


class BatchRequest(BaseModel):
    """Up to `MODERATION_BATCH_MAX_ITEMS` (500) items."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [{"text": "First post", "author_id": "user-17", "country": "US"}]}]},
    )

    # The item limit comes from settings: services/gateway/openapi.py writes it into the document.
    items: list[ContentRequest] = Field(min_length=1)


class ContentAccepted(BaseModel):
    """202: the item is on the bus; poll `GET /v1/content/{content_id}`."""

    content_id: uuid.UUID
    status: str = "pending"


class BatchAccepted(BaseModel):
    """202 for a batch, ids in submission order."""

    content_ids: list[uuid.UUID]
    status: str = "pending"


class ContentView(BaseModel):
    """An item, its current decision and the audit trail of every decision."""

    content_id: uuid.UUID
    status: Literal["pending", "in_review", "decided", "appealed"]
    country: str
    decision: Decision | None
    tier: str | None
    reasons: list[str]
    policy_version: str | None
    appealed: bool
    history: list[ModerationDecided]


class ContentItem(BaseModel):
    """One of the tenant's items, as the latest list shows it."""

    content_id: uuid.UUID
    text: str
    country: str
    status: Literal["pending", "in_review", "decided", "appealed"]
    submitted_at: datetime
    decision: ModerationDecided | None = Field(description="The current decision; null while pending or in review.")


class AppealRequest(BaseModel):
    """Why the decision is wrong."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "This quotes a slur to report it."}]})

    reason: PlainText = Field(min_length=1, max_length=2000)


def content_routes(broker: KafkaBroker, settings: Settings) -> APIRouter:
    """Submission, status and appeal routes."""
    router = APIRouter(prefix="/v1/content", tags=["moderation"], responses=AUTHED)
    policy = configured_policy(settings.moderation.policy_path)

    def check_country(items: list[ContentRequest]) -> None:
        unknown = sorted({i.country for i in items if not policy.supports(i.country)})
        if unknown:
            known = ", ".join(sorted(policy.countries))
            raise HTTPException(422, f"country {', '.join(unknown)} has no moderation policy; use one of {known}")

    async def accept(request: Request, tenant: Tenant, items: list[ContentRequest]) -> list[ContentSubmitted]:
        check_country(items)
        events = [ContentSubmitted(tenant_id=tenant.id, **item.model_dump()) for item in items]
        # Stored first, so `GET` answers `pending` at once; the tier-1 consumer stores it too
        # when the event comes from another Kafka producer.
        taken, stored = await store.save_many(request.app.state.pool, events)
        if taken:
            raise HTTPException(409, f"content_id {taken[0]} is already in use; leave content_id out or use a new one")
        sent = await asyncio.gather(*(publish_event(broker, CONTENT_SUBMITTED, e) for e in events), return_exceptions=True)
        unsent = [e.content_id for e, outcome in zip(events, sent, strict=True) if isinstance(outcome, BaseException)]
        if unsent:
            # Stored by this request but never on the bus: they would stay pending for ever.
            await store.forget_unsent(request.app.state.pool, [c for c in stored if c in unsent])
            raise HTTPException(
                503, "could not queue the content (event bus unavailable); retry, with the same content_id to be safe"
            )
        return events

    @router.post("", status_code=202, response_model=ContentAccepted, responses=LOCATION | responses(400, 409, 413, 422, 503))
    async def submit_content(body: ContentRequest, tenant: Caller, request: Request, response: Response) -> ContentAccepted:
        """Moderate one item (text up to 5,000 characters, up to 20 http(s) links)."""
        event = (await accept(request, tenant, [body]))[0]
        response.headers["Location"] = f"/v1/content/{event.content_id}"
        return ContentAccepted(content_id=event.content_id)

    @router.post("/batch", status_code=202, response_model=BatchAccepted, responses=responses(400, 409, 413, 422, 503))
    async def submit_content_batch(body: BatchRequest, tenant: Caller, request: Request) -> BatchAccepted:
        """Moderate up to 500 items in one request."""
        if len(body.items) > settings.moderation.batch_max_items:
            raise HTTPException(
                422, f"the batch holds {len(body.items)} items; the limit is {settings.moderation.batch_max_items}: split it"
            )
        events = await accept(request, tenant, body.items)
        return BatchAccepted(content_ids=[e.content_id for e in events])

    @router.get("", response_model=list[ContentItem], responses=responses(422))
    async def list_content(
        tenant: Caller, request: Request, limit: Annotated[int, Query(ge=1, le=50, description="How many, newest first.")] = 20
    ) -> list[ContentItem]:
        """The tenant's latest items, newest first, each with its current decision."""
        found = await store.recent_content(request.app.state.pool, tenant.id, limit)
        return [
            ContentItem(
                content_id=row["content_id"],
                text=row["text"],
                country=row["country"],
                status=row["status"],
                submitted_at=row["submitted_at"],
                decision=decided,
            )
            for row, decided in found
        ]

    @router.get("/{content_id:uuid}", response_model=ContentView, responses=responses(404, 422))
    async def get_content(content_id: uuid.UUID, tenant: Caller, request: Request) -> ContentView:
        """Status, current decision (tier, reasons, policy version) and the audit trail."""
        pool = request.app.state.pool
        row = await _own_content(pool, content_id, tenant)
        history = await store.decisions_of(pool, content_id)
        current = next((d for d in history if d.decision_id == row["current_decision_id"]), None)
        return ContentView(
            content_id=content_id,
            status=row["status"],
            country=row["country"],
            decision=current.decision if current else None,
            tier=current.tier if current else None,
            reasons=current.reasons if current else [],
            policy_version=current.policy_version if current else None,
            appealed=any(d.supersedes for d in history) or row["status"] == "appealed",
            history=history,
        )

    @router.post(
        "/{content_id:uuid}/appeal",
        status_code=202,
        response_model=ContentAccepted,
        responses=LOCATION | responses(400, 404, 409, 413, 422),
    )
    async def appeal_content(
        content_id: uuid.UUID, body: AppealRequest, tenant: Caller, request: Request, response: Response
    ) -> ContentAccepted:
        """Send a decided item to the appeal lane (once); a reviewer's outcome supersedes the decision."""
        pool = request.app.state.pool
        row = await _own_content(pool, content_id, tenant)
        if row["current_decision_id"] is None:
            raise HTTPException(409, f"content {content_id} has no decision yet; appeal once it is decided")
        try:
            await store.open_appeal(pool, content_id, row["current_decision_id"], body.reason)
        except store.ConflictError as error:
            raise HTTPException(409, str(error)) from error
        await store.enqueue_review(pool, content_id, "appeal", f"appeal: {body.reason}", {})
        announcement = ReviewRequested(tenant_id=tenant.id, content_id=content_id, lane="appeal", reason=body.reason)
        await publish_event(broker, MODERATION_REVIEW, announcement)
        response.headers["Location"] = f"/v1/content/{content_id}"
        return ContentAccepted(content_id=content_id, status="appealed")

    return router


async def _own_content(pool: Any, content_id: uuid.UUID, tenant: Tenant) -> Any:
    """The caller's item, or 404 (another tenant's item does not exist for them)."""
    row = await store.content_row(pool, content_id)
    if row is None or row["tenant_id"] != tenant.id:
        raise HTTPException(404, f"no content {content_id} for this tenant")
    return row
