"""Stage 2, retrieval: the cohort's best templates for this cart, from a Qdrant collection.

Templates live in Postgres (the source of truth); each tenant's are mirrored into Qdrant
(embedded local mode under `.forgeline/qdrant/`, or the server at `QDRANT_URL`) with
all-MiniLM-L6-v2 embeddings, and re-mirrored when their fingerprint changes. A query
filters by tenant and cohort, then ranks by similarity to the cart and by past conversion.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import asyncpg
from pydantic import BaseModel
from qdrant_client import AsyncQdrantClient, models

from services.common.embeddings import DIMENSIONS, embed
from services.email.context import CartContext

COLLECTION = "email_templates"
SIMILARITY_WEIGHT = 0.7  # the rest goes to past conversion (relative to the candidates')
FINGERPRINT_TTL_S = 30.0
MAX_CACHED_LINES = 50_000


class Template(BaseModel):
    """An email template with its track record."""

    template_id: str
    cohort: str
    subject: str
    preheader: str
    body: str
    call_to_action: str
    conversion_rate: float
    score: float = 0.0


def template_text(t: Template) -> str:
    """What a template's embedding is computed from."""
    return f"{t.subject}. {t.preheader}. {t.body}"


def item_query(cohort: str, name: str, category: str) -> str:
    """What one cart line's embedding is computed from."""
    return f"{cohort} shopper left the {name} ({category}) in the cart"


async def cart_vector(ctx: CartContext, cache: dict[str, list[float]]) -> list[float]:
    """The cart's query vector: the normalised mean of its lines' vectors.

    A line's vector depends only on cohort and item, so it is cached: after warm-up a cart
    costs no model call at all (the catalogue times five cohorts bounds the cache).
    """
    texts = [item_query(ctx.shopper.cohort, i.name, i.category) for i in ctx.items]
    missing = sorted({t for t in texts if t not in cache})
    if missing:
        if len(cache) > MAX_CACHED_LINES:
            cache.clear()
        cache.update(zip(missing, await embed(missing), strict=True))
    mean = [sum(values) / len(texts) for values in zip(*(cache[t] for t in texts), strict=True)]
    norm = sum(v * v for v in mean) ** 0.5 or 1.0
    return [v / norm for v in mean]


def create_qdrant(url: str, state_dir: Path, service: str) -> AsyncQdrantClient:
    """A server client at `url`, else embedded local mode (one directory per process)."""
    if url:
        return AsyncQdrantClient(url=url)
    path = state_dir / "qdrant" / service
    path.mkdir(parents=True, exist_ok=True)
    return AsyncQdrantClient(path=str(path))


class TemplateIndex:
    """Mirrors templates into Qdrant and answers `top(ctx)`."""

    def __init__(self, qdrant: AsyncQdrantClient, pool: asyncpg.Pool) -> None:
        self._qdrant, self._pool = qdrant, pool
        self._fingerprints: dict[str, tuple[str, float]] = {}  # tenant -> (fingerprint, checked at)
        self._line_vectors: dict[str, list[float]] = {}

    async def ensure_collection(self) -> None:
        """Create the collection (cosine, 384 dims) if missing."""
        if not await self._qdrant.collection_exists(COLLECTION):
            await self._qdrant.create_collection(
                COLLECTION, vectors_config=models.VectorParams(size=DIMENSIONS, distance=models.Distance.COSINE)
            )

    async def _sync(self, tenant_id: str) -> None:
        checked = self._fingerprints.get(tenant_id)
        if checked and time.monotonic() - checked[1] < FINGERPRINT_TTL_S:
            return
        fingerprint = await self._pool.fetchval(
            "SELECT coalesce(md5(string_agg(template_id || subject || preheader || body || conversion_rate::text, '|' "
            "ORDER BY template_id)), '') FROM email_templates WHERE tenant_id = $1",
            uuid.UUID(tenant_id),
        )
        if checked and checked[0] == fingerprint:
            self._fingerprints[tenant_id] = (fingerprint, time.monotonic())
            return
        rows = await self._pool.fetch(
            "SELECT template_id, cohort, subject, preheader, body, call_to_action, conversion_rate "
            "FROM email_templates WHERE tenant_id = $1",
            uuid.UUID(tenant_id),
        )
        templates = [Template(**dict(r)) for r in rows]
        tenant_filter = models.Filter(must=[models.FieldCondition(key="tenant_id", match=models.MatchValue(value=tenant_id))])
        await self._qdrant.delete(COLLECTION, points_selector=models.FilterSelector(filter=tenant_filter))
        if templates:
            vectors = await embed([template_text(t) for t in templates])
            await self._qdrant.upsert(
                COLLECTION,
                points=[
                    models.PointStruct(
                        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{t.template_id}")),
                        vector=vector,
                        payload={"tenant_id": tenant_id, **t.model_dump(exclude={"score"})},
                    )
                    for t, vector in zip(templates, vectors, strict=True)
                ],
            )
        self._fingerprints[tenant_id] = (fingerprint, time.monotonic())

    async def top(self, ctx: CartContext, k: int = 3) -> list[Template]:
        """The `k` best templates of the shopper's cohort for this cart, best first."""
        await self._sync(ctx.tenant_id)
        vector = await cart_vector(ctx, self._line_vectors)
        hits = await self._qdrant.query_points(
            COLLECTION,
            query=vector,
            query_filter=models.Filter(
                must=[
                    models.FieldCondition(key="tenant_id", match=models.MatchValue(value=ctx.tenant_id)),
                    models.FieldCondition(key="cohort", match=models.MatchValue(value=ctx.shopper.cohort)),
                ]
            ),
            limit=max(4 * k, 12),
            with_payload=True,
        )
        candidates = [(hit.score, Template.model_validate(hit.payload or {})) for hit in hits.points]
        best_rate = max((t.conversion_rate for _, t in candidates), default=0.0) or 1.0
        ranked = [
            t.model_copy(update={"score": SIMILARITY_WEIGHT * sim + (1 - SIMILARITY_WEIGHT) * t.conversion_rate / best_rate})
            for sim, t in candidates
        ]
        ranked.sort(key=lambda t: t.score, reverse=True)
        return ranked[:k]
