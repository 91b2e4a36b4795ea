"""The human review queue. Reviewers (API keys with the `reviewer` or `admin` role) are the
platform's trust-and-safety staff: they see every tenant's queue, claim an item for a while
(claims expire, so nothing stays stuck) and decide it.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from services.common.broker import publish_event
from services.common.events import Decision, ModerationDecided, PlainText, ReviewLane
from services.common.settings import Settings
from services.common.topics import MODERATION_DECIDED
from services.gateway.auth import role_check
from services.gateway.errors import AUTHED, responses
from services.gateway.tenants import Tenant
from services.moderation import store
from services.moderation.policy import configured_policy


class ReviewDecision(BaseModel):
    """A reviewer's decision on a claimed item."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"decision": "reject", "reason": "Targets a group", "lane": "review"}]}
    )

    decision: Decision
    reason: PlainText = Field(min_length=1, max_length=2000)
    lane: ReviewLane = "review"


class Claimed(BaseModel):
    """The claim and when it lapses."""

    content_id: uuid.UUID
    lane: ReviewLane
    claimed_until: str


ROLES = ("reviewer", "admin")
Reviewer = Annotated[Tenant, Depends(role_check(ROLES, "this API key has no reviewer role; ask an admin for a reviewer key"))]
# In the document: the roles a key needs here (a tenant key gets 403).
REVIEWERS_ONLY: dict[str, Any] = {"x-required-role": list(ROLES)}


def review_routes(broker: KafkaBroker, settings: Settings) -> APIRouter:
    """The human review queue (reviewer role only)."""
    router = APIRouter(prefix="/v1/review", tags=["moderation"], responses=AUTHED | responses(403))
    policy_version = configured_policy(settings.moderation.policy_path).version

    @router.get("/queue", response_model=list[store.QueueItem], responses=responses(422), openapi_extra=REVIEWERS_ONLY)
    async def review_queue(
        reviewer: Reviewer,
        request: Request,
        lane: ReviewLane = "review",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[store.QueueItem]:
        """Open items, oldest first, with tier scores and matched rules; claimed items are hidden."""
        return await store.review_queue(request.app.state.pool, lane, limit)

    @router.post("/{content_id}/claim", response_model=Claimed, responses=responses(404, 409, 422), openapi_extra=REVIEWERS_ONLY)
    async def claim_review(content_id: uuid.UUID, reviewer: Reviewer, request: Request, lane: ReviewLane = "review") -> Claimed:
        """Claim an item for `MODERATION_REVIEW_CLAIM_TTL_S` seconds (claiming again renews it)."""
        try:
            ttl_s = settings.moderation.review_claim_ttl_s
            until = await store.claim(request.app.state.pool, content_id, lane, reviewer.id, ttl_s)
        except LookupError as error:
            raise HTTPException(404, str(error)) from error
        except store.ConflictError as error:
            raise HTTPException(409, str(error)) from error
        return Claimed(content_id=content_id, lane=lane, claimed_until=until)

    @router.post(
        "/{content_id}/decision",
        response_model=ModerationDecided,
        responses=responses(400, 409, 413, 422),
        openapi_extra=REVIEWERS_ONLY,
    )
    async def decide_review(
        content_id: uuid.UUID, body: ReviewDecision, reviewer: Reviewer, request: Request
    ) -> ModerationDecided:
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
