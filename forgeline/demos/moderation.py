"""`forgeline demo moderation`: a mixed stream through the tiers, one human review, one appeal."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import asyncpg
from forgeline_api_client import AuthenticatedClient
from forgeline_api_client.api.moderation import (
    appeal_content,
    claim_review,
    decide_review,
    get_content,
    review_queue,
    submit_content_batch,
)
from forgeline_api_client.models import (
    AppealRequest,
    BatchRequest,
    ClaimReviewLane,
    ContentRequest,
    ContentRequestCountry,
    ReviewDecision,
    ReviewDecisionDecision,
    ReviewDecisionLane,
)

from forgeline.api import GatewayError, expect, gateway_client
from forgeline.demos.narrate import Say, gateway_and_key
from forgeline.tools.tail import tail_consumer
from services.common.events import ModerationDecided, ReviewRequested
from services.common.settings import Settings
from services.common.topics import MODERATION_DECIDED, MODERATION_REVIEW
from services.gateway.tenants import create_tenant

# (what it shows, text, country, links)
STREAM: list[tuple[str, str, str, list[str]]] = [
    ("clean", "What a lovely day at the beach with the kids", "US", []),
    ("clean", "Congrats to the team on the launch!", "GB", []),
    ("clean, trusted link", "Good background reading", "US", ["https://en.wikipedia.org/wiki/Content_moderation"]),
    ("evasive: spaced + leetspeak", "you are a f 4 g g 0 t", "US", []),
    ("evasive: zero-width", "what a fa\u200bgg\u200bot", "US", []),
    ("evasive: homoglyphs", "go away, tr\u0430nny", "US", []),
    ("hateful: threat", "I want to kill all immigrants", "US", []),
    ("country override (DE)", "Sieg Heil, Kameraden", "DE", []),
    ("phishing link", "claim your prize", "US", ["https://free-crypto-giveaway.example/claim"]),
    ("borderline", "honestly women are the worst drivers, I hate it", "US", []),
    ("borderline", "immigrants are ruining this town", "US", []),
    ("offensive, not hateful", "this fucking traffic is killing me", "US", []),
    ("unknown link", "my new blog post", "US", ["https://my-blog.example/post/1"]),
]


async def moderation(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 90.0) -> bool:
    """Submit the stream, narrate each decision live, review one item, appeal one, print the tier mix."""
    gateway, key = gateway_and_key(state, say)
    if not gateway or not key:
        return False
    if "moderation-rules" not in state.get("components", {}):
        say("Moderation is off in this stack (no classifier and no training data): see `forgeline up`'s output.")
        return False
    endpoints = {name: rec["endpoint"] for name, rec in state["components"].items()}
    reviewer = gateway_client(gateway, await _reviewer_key(endpoints["postgres"]))
    say(f"== moderation demo: {len(STREAM)} items through rules -> classifier (Ray Serve) -> LLM judge -> humans ==")
    watcher = await tail_consumer(endpoints["kafka"], (MODERATION_DECIDED.name, MODERATION_REVIEW.name))
    async with gateway_client(gateway, key) as author, reviewer:
        try:
            items = [
                ContentRequest(text=t, author_id="demo-author", country=ContentRequestCountry(c), links=links)
                for _, t, c, links in STREAM
            ]
            try:
                accepted = expect(await submit_content_batch.asyncio_detailed(client=author, body=BatchRequest(items=items)))
            except GatewayError as error:
                say(f"  the gateway refused the batch: {error}")
                return False
            ids = accepted.content_ids
            labels = {cid: (what, text) for cid, (what, text, _, _) in zip(ids, STREAM, strict=True)}
            settled = await _narrate(watcher, labels, say, timeout_s)
        finally:
            await watcher.stop()
        if len(settled) < len(ids):
            missing = len(ids) - len(settled)
            say(f"  {missing} items not settled within {timeout_s:.0f}s: check `forgeline logs moderation-rules`")
            return False
        tiers = Counter(settled.values())
        say(f"Tier mix of this stream: {dict(tiers)} (targets at scale: rules 60%, classifier 35%, judge 5%, humans 1-2%)")
        waiting = [cid for cid, tier in settled.items() if tier == "review"]
        reviewed = await _review_one(reviewer, waiting, labels, say) if waiting else None
        if reviewed is None:
            say("No item needed a human this time; appealing a rules decision instead.")
        target = reviewed or next(cid for cid, tier in settled.items() if tier == "rules")
        return await _appeal(author, reviewer, target, labels, say)


async def _reviewer_key(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        _, key = await create_tenant(conn, f"demo-reviewer-{uuid.uuid4().hex[:6]}", 0, role="reviewer")
        return key
    finally:
        await conn.close()


async def _narrate(watcher: Any, labels: dict[uuid.UUID, tuple[str, str]], say: Say, timeout_s: float) -> dict[uuid.UUID, str]:
    """Print each decision (or trip to the review queue) as it happens; return who settled what."""
    settled: dict[uuid.UUID, str] = {}
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(settled) < len(labels) and asyncio.get_running_loop().time() < deadline:
        for records in (await watcher.getmany(timeout_ms=500)).values():
            for record in records:
                if record.topic == MODERATION_DECIDED.name:
                    decided = ModerationDecided.model_validate_json(record.value or b"{}")
                    if decided.content_id in labels and decided.content_id not in settled:
                        settled[decided.content_id] = decided.tier
                        what, text = labels[decided.content_id]
                        say(
                            f"  [{decided.tier:<10}] {decided.decision:<7} {text[:44]!r:<48} ({what}) — {decided.reasons[0][:70]}"
                        )
                else:
                    review = ReviewRequested.model_validate_json(record.value or b"{}")
                    if review.content_id in labels and review.content_id not in settled:
                        settled[review.content_id] = "review"
                        what, text = labels[review.content_id]
                        say(f"  [{'human':<10}] queued  {text[:44]!r:<48} ({what}) — {review.reason[:70]}")
    return settled


async def _review_one(
    reviewer: AuthenticatedClient, waiting: list[uuid.UUID], labels: dict[uuid.UUID, tuple[str, str]], say: Say
) -> uuid.UUID | None:
    queue = expect(await review_queue.asyncio_detailed(client=reviewer, limit=200))
    entry = next((q for q in queue if q.content_id in waiting), None)
    if entry is None:
        return None
    cid = entry.content_id
    scores = entry.evidence.additional_properties.get("scores") or {}
    say(f"Human review: the queue shows {labels[cid][1]!r} with P(hate)={scores.get('hate', 0):.2f} and {entry.reason!r}.")
    claim = expect(await claim_review.asyncio_detailed(cid, client=reviewer))
    say(f"  a reviewer claims it until {claim.claimed_until} (others cannot take it; the claim lapses if abandoned)")
    body = ReviewDecision(decision=ReviewDecisionDecision.REJECT, reason="a generalisation that derogates a protected group")
    decided = expect(await decide_review.asyncio_detailed(cid, client=reviewer, body=body))
    say(f"  decided: {decided.decision.value} by {decided.decided_by}")
    return cid


async def _appeal(
    author: AuthenticatedClient,
    reviewer: AuthenticatedClient,
    cid: uuid.UUID,
    labels: dict[uuid.UUID, tuple[str, str]],
    say: Say,
) -> bool:
    say(f"Appeal: the author of {labels[cid][1]!r} appeals.")
    appeal = AppealRequest(reason="I was describing my own experience")
    try:
        expect(await appeal_content.asyncio_detailed(cid, client=author, body=appeal))
    except GatewayError as error:
        say(f"  the appeal was refused: {error}")
        return False
    expect(await claim_review.asyncio_detailed(cid, client=reviewer, lane=ClaimReviewLane.APPEAL))
    body = ReviewDecision(
        decision=ReviewDecisionDecision.APPROVE,
        reason="on reflection, personal experience, not an attack",
        lane=ReviewDecisionLane.APPEAL,
    )
    expect(await decide_review.asyncio_detailed(cid, client=reviewer, body=body))
    view = expect(await get_content.asyncio_detailed(cid, client=author))
    for step in view.history:
        superseding = f" (supersedes {str(step.supersedes)[:8]})" if step.supersedes else ""
        say(f"  audit trail: {step.decision.value:<7} by {step.tier.value:<10} {step.reasons[0][:60]}{superseding}")
    ok = view.tier == "appeal" and len(view.history) == 2
    decision = view.decision.value if view.decision else None
    say(f"  now {decision} ({view.tier}); the original decision stays in the trail." if ok else "  the appeal did not land")
    return bool(ok)
