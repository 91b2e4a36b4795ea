"""Exactly-once effects on at-least-once delivery.

`IdempotencyStore.once(key)` opens a Postgres transaction and records the key in
`processed_events`. The caller writes its effect on the same connection, so the record and
the effect commit together: a redelivered message finds the record and skips the effect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from prometheus_client import Counter

DUPLICATES_SKIPPED = Counter(
    "forgeline_duplicates_skipped_total", "Redelivered messages whose effect had already happened.", ["consumer"]
)


class IdempotencyStore:
    """Processed-key records for one consumer (a service's consumer group, or an effect name)."""

    def __init__(self, pool: asyncpg.Pool, consumer: str) -> None:
        self._pool = pool
        self._consumer = consumer

    @asynccontextmanager
    async def once(self, key: str) -> AsyncIterator[PoolConnectionProxy | None]:
        """Yield a connection inside a transaction if `key` is new, else None (a duplicate).

        A concurrent duplicate waits on the first one's row lock and then sees it as done.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await conn.fetchval(
                "INSERT INTO processed_events (consumer, event_key) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
                self._consumer,
                key,
            )
            if not claimed:
                DUPLICATES_SKIPPED.labels(self._consumer).inc()
                yield None
                return
            yield conn
