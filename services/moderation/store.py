"""Moderation state in Postgres: items, decisions (one original each, appeals supersede),
the review queue with expiring claims, and appeals. Every write is idempotent, so a
redelivered event or a restarted tier cannot add a second decision."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
from prometheus_client import Counter
from pydantic import BaseModel

from services.common.events import ContentSubmitted, ModerationDecided, ReviewLane
from services.common.retry import PermanentError

DECISIONS = Counter(
    "forgeline_moderation_decisions_total", "Moderation decisions stored, by tier and decision.", ["tier", "decision"]
)


class ConflictError(Exception):
    """The request does not fit the item's state (already claimed, not decided, ...)."""


async def save_content(pool: asyncpg.Pool, item: ContentSubmitted) -> None:
    """Record a submitted item once; the same id from another tenant is refused."""
    owner = await pool.fetchval(
        "INSERT INTO moderation_content (content_id, tenant_id, author_id, text, country, lang, links) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) "
        "ON CONFLICT (content_id) DO UPDATE SET content_id = EXCLUDED.content_id RETURNING tenant_id",
        item.content_id,
        item.tenant_id,
        item.author_id,
        item.text,
        item.country,
        item.lang,
        json.dumps(item.links),
    )
    if owner != item.tenant_id:
        raise PermanentError(f"content {item.content_id} belongs to another tenant")


async def save_many(pool: asyncpg.Pool, items: list[ContentSubmitted]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Record a batch of new items (the gateway's intake); a client's retry with the same ids
    is harmless. Returns the ids another tenant already holds (nothing is stored then), and
    the ids this call stored (not those stored before)."""
    if not items:
        return [], []
    async with pool.acquire() as conn, conn.transaction():
        taken = await conn.fetch(
            "SELECT content_id FROM moderation_content WHERE content_id = ANY($1) AND tenant_id <> $2",
            [i.content_id for i in items],
            items[0].tenant_id,
        )
        if taken:
            return [r["content_id"] for r in taken], []
        stored = await conn.fetch(
            "INSERT INTO moderation_content (content_id, tenant_id, author_id, text, country, lang, links) "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) "
            "ON CONFLICT (content_id) DO NOTHING RETURNING content_id",
            [i.content_id for i in items],
            [i.tenant_id for i in items],
            [i.author_id for i in items],
            [i.text for i in items],
            [i.country for i in items],
            [i.lang for i in items],
            [json.dumps(i.links) for i in items],
        )
    return [], [r["content_id"] for r in stored]


async def forget_unsent(pool: asyncpg.Pool, content_ids: list[uuid.UUID]) -> None:
    """Drop items the gateway stored but could not put on the bus (still pending): the client was
    told to retry, and a row left behind would stay pending for ever."""
    await pool.execute(
        "DELETE FROM moderation_content WHERE content_id = ANY($1) AND status = 'pending' AND current_decision_id IS NULL",
        content_ids,
    )


async def original_decision(pool: asyncpg.Pool, content_id: uuid.UUID) -> ModerationDecided | None:
    """The item's original decision as stored (not an appeal's), or None while it has none."""
    stored = await pool.fetchval(
        "SELECT event FROM moderation_decisions WHERE content_id = $1 AND supersedes IS NULL", content_id
    )
    return None if stored is None else ModerationDecided.model_validate_json(stored)


async def record_decision(pool: asyncpg.Pool, decided: ModerationDecided) -> ModerationDecided:
    """Store `decided` unless the item (or this appeal) already has one; return the stored one.

    Publishing the returned event after a crash republishes the same `decision_id`, so
    listeners de-duplicate on it.
    """
    async with pool.acquire() as conn, conn.transaction():
        conflict = "(supersedes) WHERE supersedes IS NOT NULL" if decided.supersedes else "(content_id) WHERE supersedes IS NULL"
        inserted = await conn.fetchval(
            "INSERT INTO moderation_decisions (decision_id, content_id, tenant_id, decision, tier, reasons, event, "
            "policy_version, country, decided_by, supersedes) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11) "
            f"ON CONFLICT {conflict} DO NOTHING RETURNING decision_id",
            decided.decision_id,
            decided.content_id,
            decided.tenant_id,
            decided.decision,
            decided.tier,
            json.dumps(decided.reasons),
            decided.model_dump_json(),
            decided.policy_version,
            decided.country,
            decided.decided_by,
            decided.supersedes,
        )
        if inserted is None:
            where = "supersedes = $2" if decided.supersedes else "supersedes IS NULL"
            stored = await conn.fetchval(
                f"SELECT event FROM moderation_decisions WHERE content_id = $1 AND {where}",
                decided.content_id,
                *([decided.supersedes] if decided.supersedes else []),
            )
            return ModerationDecided.model_validate_json(stored)
        await conn.execute(
            "UPDATE moderation_content SET status = 'decided', current_decision_id = $2 WHERE content_id = $1",
            decided.content_id,
            decided.decision_id,
        )
        lane = "appeal" if decided.supersedes else "review"
        await conn.execute(
            "UPDATE moderation_review SET decided_at = now() WHERE content_id = $1 AND lane = $2 AND decided_at IS NULL",
            decided.content_id,
            lane,
        )
    DECISIONS.labels(decided.tier, decided.decision).inc()  # once per stored decision, after it committed
    return decided


async def enqueue_review(
    pool: asyncpg.Pool, content_id: uuid.UUID, lane: ReviewLane, reason: str, evidence: dict[str, Any]
) -> bool:
    """Put an item in a review lane (once); False when it was already there or already decided."""
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval("SELECT status FROM moderation_content WHERE content_id = $1 FOR UPDATE", content_id)
        if lane == "review" and status == "decided":
            return False
        added = await conn.fetchval(
            "INSERT INTO moderation_review (content_id, lane, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
            content_id,
            lane,
            reason,
        )
        await conn.execute(
            "UPDATE moderation_content SET status = $2, evidence = evidence || $3::jsonb WHERE content_id = $1",
            content_id,
            "in_review" if lane == "review" else "appealed",
            json.dumps(evidence),
        )
        return bool(added)


class QueueItem(BaseModel):
    """One item waiting for a reviewer, with what the tiers found."""

    content_id: uuid.UUID
    lane: ReviewLane
    reason: str
    enqueued_at: str
    text: str
    country: str
    links: list[str]
    evidence: dict[str, Any]


async def review_queue(pool: asyncpg.Pool, lane: ReviewLane, limit: int) -> list[QueueItem]:
    """Open items of a lane, oldest first; items under a live claim are left out."""
    rows = await pool.fetch(
        "SELECT r.content_id, r.lane, r.reason, r.enqueued_at, "
        "c.text, c.country, c.links, c.evidence FROM moderation_review r JOIN moderation_content c USING (content_id) "
        "WHERE r.lane = $1 AND r.decided_at IS NULL AND (r.claim_expires_at IS NULL OR r.claim_expires_at < now()) "
        "ORDER BY r.enqueued_at, r.content_id LIMIT $2",
        lane,
        limit,
    )
    return [
        QueueItem(
            content_id=r["content_id"],
            lane=r["lane"],
            reason=r["reason"],
            enqueued_at=r["enqueued_at"].isoformat(),
            text=r["text"],
            country=r["country"],
            links=json.loads(r["links"]),
            evidence=json.loads(r["evidence"]),
        )
        for r in rows
    ]


async def claim(pool: asyncpg.Pool, content_id: uuid.UUID, lane: ReviewLane, reviewer: uuid.UUID, ttl_s: float) -> str:
    """Claim an open item for `ttl_s` (renewing one's own claim); ConflictError if someone else holds it."""
    expires = await pool.fetchval(
        "UPDATE moderation_review SET claimed_by = $3, claim_expires_at = now() + make_interval(secs => $4) "
        "WHERE content_id = $1 AND lane = $2 AND decided_at IS NULL "
        "AND (claimed_by IS NULL OR claimed_by = $3 OR claim_expires_at < now()) RETURNING claim_expires_at",
        content_id,
        lane,
        reviewer,
        ttl_s,
    )
    if expires is None:
        state = await pool.fetchrow(
            "SELECT decided_at, claim_expires_at FROM moderation_review WHERE content_id = $1 AND lane = $2", content_id, lane
        )
        if state is None:
            raise LookupError(f"content {content_id} is not in the {lane} lane")
        if state["decided_at"] is not None:
            raise ConflictError(f"content {content_id} was already decided in the {lane} lane")
        raise ConflictError(f"content {content_id} is claimed by another reviewer until {state['claim_expires_at'].isoformat()}")
    return str(expires.isoformat())


async def holds_claim(pool: asyncpg.Pool, content_id: uuid.UUID, lane: ReviewLane, reviewer: uuid.UUID) -> bool:
    """Whether `reviewer` holds a live claim on the open item."""
    return bool(
        await pool.fetchval(
            "SELECT true FROM moderation_review WHERE content_id = $1 AND lane = $2 AND decided_at IS NULL "
            "AND claimed_by = $3 AND claim_expires_at >= now()",
            content_id,
            lane,
            reviewer,
        )
    )


async def content_row(pool: asyncpg.Pool, content_id: uuid.UUID) -> asyncpg.Record | None:
    """The stored item."""
    return await pool.fetchrow("SELECT * FROM moderation_content WHERE content_id = $1", content_id)


async def recent_content(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, limit: int
) -> list[tuple[asyncpg.Record, ModerationDecided | None]]:
    """A tenant's latest items, newest first, each with its current decision (None: pending)."""
    rows = await pool.fetch(
        "SELECT c.content_id, c.text, c.country, c.status, c.submitted_at, d.event FROM moderation_content c "
        "LEFT JOIN moderation_decisions d ON d.decision_id = c.current_decision_id "
        "WHERE c.tenant_id = $1 ORDER BY c.submitted_at DESC LIMIT $2",
        tenant_id,
        limit,
    )
    return [(r, ModerationDecided.model_validate_json(r["event"]) if r["event"] else None) for r in rows]


async def decisions_of(pool: asyncpg.Pool, content_id: uuid.UUID) -> list[ModerationDecided]:
    """Every decision on the item, oldest first (the audit trail)."""
    rows = await pool.fetch("SELECT event FROM moderation_decisions WHERE content_id = $1 ORDER BY decided_at", content_id)
    return [ModerationDecided.model_validate_json(r["event"]) for r in rows]


async def open_appeal(pool: asyncpg.Pool, content_id: uuid.UUID, decision_id: uuid.UUID, reason: str) -> None:
    """Record the item's one appeal; ConflictError if it was appealed before."""
    added = await pool.fetchval(
        "INSERT INTO moderation_appeals (content_id, appealed_decision_id, reason) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING true",
        content_id,
        decision_id,
        reason,
    )
    if not added:
        raise ConflictError(f"content {content_id} was already appealed; an appeal's outcome is final")


def evidence_of(row: asyncpg.Record) -> dict[str, Any]:
    """The tiers' evidence stored on an item."""
    value = row["evidence"]
    return dict(json.loads(value) if isinstance(value, str) else value)
