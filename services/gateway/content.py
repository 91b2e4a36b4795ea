"""Moderation over HTTP: submit content, read its decision, appeal; reviewers work the queue.

Tenants see only their own items. Reviewers (API keys with the `reviewer` or `admin` role)
are the platform's trust-and-safety staff: they see every tenant's queue, claim an item for a
while (claims expire, so nothing stays stuck) and decide it. An appeal goes to its own lane;
its outcome supersedes the original decision, which stays in the audit trail.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from services.common.broker import publish_event
from services.common.events import ContentFields, ContentSubmitted, Decision, ModerationDecided, ReviewLane, ReviewRequested
from services.common.settings import Settings
from services.common.topics import CONTENT_SUBMITTED, MODERATION_DECIDED, MODERATION_REVIEW
from services.gateway.auth import Caller
from services.gateway.tenants import Tenant
from services.moderation import store
from services.moderation.policy import configured_policy


class ContentRequest(ContentFields):
    """An item to moderate; give your own `content_id` to make retries idempotent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content_id: uuid.UUID = Field(default_factory=uuid.uuid4)


class BatchRequest(BaseModel):
    """Up to `MODERATION_BATCH_MAX_ITEMS` (500) items."""

    model_config = ConfigDict(extra="forbid")

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


class AppealRequest(BaseModel):
    """Why the decision is wrong."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class ReviewDecision(BaseModel):
    """A reviewer's decision on a claimed item."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: str = Field(min_length=1, max_length=2000)
    lane: ReviewLane = "review"


class Claimed(BaseModel):
    """The claim and when it lapses."""

    content_id: uuid.UUID
    lane: ReviewLane
    claimed_until: str


async def current_reviewer(tenant: Caller) -> Tenant:
    """Dependency: a caller with the reviewer (or admin) role, else 403."""
    if tenant.role not in ("reviewer", "admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key has no reviewer role; ask an admin for a reviewer key")
    return tenant


Reviewer = Annotated[Tenant, Depends(current_reviewer)]


def content_routes(broker: KafkaBroker, settings: Settings) -> APIRouter:
    """Submission, status and appeal routes."""
    router = APIRouter(prefix="/v1/content", tags=["moderation"])
    policy = configured_policy(settings.moderation_policy_path)

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
        taken = await store.save_many(request.app.state.pool, events)
        if taken:
            raise HTTPException(409, f"content_id {taken[0]} is already in use; leave content_id out or use a new one")
        await asyncio.gather(*(publish_event(broker, CONTENT_SUBMITTED, e) for e in events))
        return events

    @router.post("", status_code=202, response_model=ContentAccepted)
    async def submit(body: ContentRequest, tenant: Caller, request: Request) -> ContentAccepted:
        """Moderate one item (text up to 5,000 characters, up to 20 http(s) links)."""
        event = (await accept(request, tenant, [body]))[0]
        return ContentAccepted(content_id=event.content_id)

    @router.post("/batch", status_code=202, response_model=BatchAccepted)
    async def submit_batch(body: BatchRequest, tenant: Caller, request: Request) -> BatchAccepted:
        """Moderate up to 500 items in one request."""
        if len(body.items) > settings.moderation_batch_max_items:
            raise HTTPException(
                422, f"the batch holds {len(body.items)} items; the limit is {settings.moderation_batch_max_items}: split it"
            )
        events = await accept(request, tenant, body.items)
        return BatchAccepted(content_ids=[e.content_id for e in events])

    @router.get("/{content_id}", response_model=ContentView)
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

    @router.post("/{content_id}/appeal", status_code=202, response_model=ContentAccepted)
    async def appeal(content_id: uuid.UUID, body: AppealRequest, tenant: Caller, request: Request) -> ContentAccepted:
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
        return ContentAccepted(content_id=content_id, status="appealed")

    return router


def review_routes(broker: KafkaBroker, settings: Settings) -> APIRouter:
    """The human review queue (reviewer role only)."""
    router = APIRouter(prefix="/v1/review", tags=["moderation"])
    policy_version = configured_policy(settings.moderation_policy_path).version

    @router.get("/queue", response_model=list[store.QueueItem])
    async def queue(
        reviewer: Reviewer,
        request: Request,
        lane: ReviewLane = "review",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[store.QueueItem]:
        """Open items, oldest first, with tier scores and matched rules; claimed items are hidden."""
        return await store.review_queue(request.app.state.pool, lane, limit)

    @router.post("/{content_id}/claim", response_model=Claimed)
    async def claim(content_id: uuid.UUID, reviewer: Reviewer, request: Request, lane: ReviewLane = "review") -> Claimed:
        """Claim an item for `MODERATION_REVIEW_CLAIM_TTL_S` seconds (claiming again renews it)."""
        try:
            ttl_s = settings.moderation_review_claim_ttl_s
            until = await store.claim(request.app.state.pool, content_id, lane, reviewer.id, ttl_s)
        except LookupError as error:
            raise HTTPException(404, str(error)) from error
        except store.ConflictError as error:
            raise HTTPException(409, str(error)) from error
        return Claimed(content_id=content_id, lane=lane, claimed_until=until)

    @router.post("/{content_id}/decision", response_model=ModerationDecided)
    async def decide(content_id: uuid.UUID, body: ReviewDecision, reviewer: Reviewer, request: Request) -> ModerationDecided:
        """Decide a claimed item; in the appeal lane the outcome supersedes the original decision."""
        pool = request.app.state.pool
        if not await store.holds_claim(pool, content_id, body.lane, reviewer.id):
            raise HTTPException(409, f"claim content {content_id} in the {body.lane} lane first (or your claim expired)")
        row = await store.content_row(pool, content_id)
        assert row is not None  # a review row references its content
        evidence: dict[str, Any] = store.evidence_of(row)
        decided = await store.record_decision(
            pool,
            ModerationDecided(
                tenant_id=row["tenant_id"],
                content_id=content_id,
                decision=body.decision,
                tier="appeal" if body.lane == "appeal" else "human",
                reasons=[f"reviewer: {body.reason}"],
                policy_version=evidence.get("policy_version") or policy_version,
                country=row["country"],
                decided_by=f"reviewer:{reviewer.name}",
                supersedes=row["current_decision_id"] if body.lane == "appeal" else None,
            ),
        )
        await publish_event(broker, MODERATION_DECIDED, decided)
        return decided

    return router


async def _own_content(pool: Any, content_id: uuid.UUID, tenant: Tenant) -> Any:
    """The caller's item, or 404 (another tenant's item does not exist for them)."""
    row = await store.content_row(pool, content_id)
    if row is None or row["tenant_id"] != tenant.id:
        raise HTTPException(404, f"no content {content_id} for this tenant")
    return row
