"""Get a platform's shared state ready before its services start: database migrations and
Kafka topics. The Helm chart runs `forgeline prepare` as a hook Job, and `forgeline prepare
--check` in each service's init container, so services start only on a prepared platform.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from services.common.broker import ensure_topics
from services.common.migrate import apply_migrations, pending_migrations
from services.common.settings import Settings

RETRY_EVERY_S = 3.0


class NotPreparedError(RuntimeError):
    """Migrations are pending or topics are missing (`--check`), or a server did not answer in time."""


async def prepare_once(settings: Settings, check_only: bool) -> dict[str, list[str]]:
    """Apply pending migrations and create missing topics (or, checking, name what is missing)."""
    if check_only:
        pending = await asyncio.to_thread(pending_migrations, settings.endpoints.database_url)
    else:
        pending = await asyncio.to_thread(apply_migrations, settings.endpoints.database_url)
    topics = await ensure_topics(settings, create=not check_only)
    if check_only and (pending or topics):
        raise NotPreparedError(f"pending migrations: {pending or 'none'}; missing topics: {topics or 'none'}")
    return {"migrations": pending, "topics": topics}


async def prepare_platform(
    settings: Settings, check_only: bool, wait_s: float, progress: Callable[[str], None]
) -> dict[str, list[str]]:
    """`prepare_once`, retried while Postgres or Kafka are unreachable or (checking) not ready yet."""
    if not settings.endpoints.database_url or not settings.endpoints.kafka_bootstrap_servers:
        raise NotPreparedError("set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS (the chart takes them from its Secret and values)")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await prepare_once(settings, check_only)
        except Exception as error:  # any failure to reach a server is retried until the deadline
            if time.monotonic() >= deadline:
                raise NotPreparedError(f"not prepared after {wait_s:.0f}s: {error}") from error
            progress(f"waiting: {error}")
            await asyncio.sleep(RETRY_EVERY_S)
