"""Stage 1, context: who the shopper is, what is in the cart, what they may be offered.

Profile, cohort and history come from Postgres; item details from Redis, with Postgres as
the source of truth on a miss (or when Redis is down); promotions from Postgres, filtered
to the ones this user and this cart qualify for now.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import asyncpg
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.events import CartAbandoned
from services.common.retry import PermanentError

log = logging.getLogger("forgeline.email.context")


class Shopper(BaseModel):
    """The recipient. Only `first_name` may appear in an email."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    cohort: str


class ItemLine(BaseModel):
    """A cart line with the catalogue's details."""

    sku: str
    name: str
    category: str
    quantity: int
    unit_price: Decimal
    in_stock: bool


class Promotion(BaseModel):
    """A discount this user may be offered for this cart."""

    code: str
    percent_off: int


class CartContext(BaseModel):
    """Everything later stages need, and nothing more."""

    tenant_id: str
    cart_id: str
    currency: str
    shopper: Shopper
    items: list[ItemLine]
    total: Decimal
    past_purchases: int
    favourite_category: str | None
    promotions: list[Promotion]

    @property
    def best_promotion(self) -> Promotion | None:
        """The largest discount granted, if any."""
        return max(self.promotions, key=lambda p: p.percent_off, default=None)


class ItemCatalogue:
    """Item details: Redis first (cached with a TTL), Postgres when missing or when Redis fails."""

    def __init__(self, pool: asyncpg.Pool, redis: Redis, ttl_s: int) -> None:
        self._pool, self._redis, self._ttl_s = pool, redis, ttl_s

    async def get(self, tenant_id: str, skus: list[str]) -> dict[str, dict[str, object]]:
        """Details by SKU; unknown SKUs are absent from the answer."""
        keys = [f"item:{tenant_id}:{sku}" for sku in skus]
        found: dict[str, dict[str, object]] = {}
        try:
            for sku, raw in zip(skus, await self._redis.mget(keys), strict=True):
                if raw is not None:
                    found[sku] = json.loads(raw)
        except RedisError as error:
            log.warning("item cache bypassed, Redis unavailable: %s", type(error).__name__)
        missing = [sku for sku in skus if sku not in found]
        if missing:
            rows = await self._pool.fetch(
                "SELECT sku, name, category, price::text AS price, stock FROM shop_items WHERE tenant_id = $1 AND sku = ANY($2)",
                tenant_id,
                missing,
            )
            fresh = {r["sku"]: dict(r) for r in rows}
            found.update(fresh)
            try:
                if fresh:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for sku, details in fresh.items():
                            pipe.set(f"item:{tenant_id}:{sku}", json.dumps(details), ex=self._ttl_s)
                        await pipe.execute()
            except RedisError:
                pass  # the cache is an optimisation; already logged above when it matters
        return found


async def load_context(event: CartAbandoned, pool: asyncpg.Pool, catalogue: ItemCatalogue) -> CartContext:
    """The cart's context; PermanentError (-> DLQ) for an unknown user or SKU."""
    tenant = str(event.tenant_id)
    user = await pool.fetchrow(
        "SELECT user_id, email, first_name, last_name, cohort FROM shop_users WHERE tenant_id = $1 AND user_id = $2",
        event.tenant_id,
        event.user_id,
    )
    if user is None:
        raise PermanentError(f"unknown user {event.user_id!r} for tenant {tenant}")
    details = await catalogue.get(tenant, [line.sku for line in event.items])
    unknown = sorted({line.sku for line in event.items} - set(details))
    if unknown:
        raise PermanentError(f"unknown SKU(s) {', '.join(unknown)} for tenant {tenant}")
    items = [
        ItemLine(
            sku=line.sku,
            name=str(details[line.sku]["name"]),
            category=str(details[line.sku]["category"]),
            quantity=line.quantity,
            unit_price=line.unit_price,
            in_stock=int(str(details[line.sku]["stock"])) > 0,
        )
        for line in event.items
    ]
    total = sum((i.unit_price * i.quantity for i in items), Decimal(0))
    history = await pool.fetchrow(
        "SELECT count(*) AS n, mode() WITHIN GROUP (ORDER BY i.category) AS favourite FROM purchases p "
        "JOIN shop_items i ON i.tenant_id = p.tenant_id AND i.sku = p.sku WHERE p.tenant_id = $1 AND p.user_id = $2",
        event.tenant_id,
        event.user_id,
    )
    promotions = await pool.fetch(
        "SELECT code, percent_off FROM promotions WHERE tenant_id = $1 AND now() BETWEEN starts_at AND ends_at "
        "AND min_cart_total <= $2 AND (user_id = $3 OR (user_id IS NULL AND (cohort IS NULL OR cohort = $4))) "
        "ORDER BY percent_off DESC",
        event.tenant_id,
        total,
        event.user_id,
        user["cohort"],
    )
    return CartContext(
        tenant_id=tenant,
        cart_id=event.cart_id,
        currency=event.currency,
        shopper=Shopper(**dict(user)),
        items=items,
        total=total,
        past_purchases=int(history["n"]) if history else 0,
        favourite_category=history["favourite"] if history else None,
        promotions=[Promotion(**dict(p)) for p in promotions],
    )
