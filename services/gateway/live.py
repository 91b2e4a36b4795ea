"""Live updates: completion events fanned out to the connected clients of their tenant only."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Gauge

LIVE_CLIENTS = Gauge("forgeline_live_clients", "Connected SSE/WebSocket clients.")


class LiveHub:
    """In-process fan-out. Every gateway replica consumes the completion topics itself."""

    def __init__(self, queue_size: int = 256) -> None:
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._queue_size = queue_size

    @contextmanager
    def subscribe(self, tenant_id: uuid.UUID) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving this tenant's updates until the context exits."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._subscribers[tenant_id].add(queue)
        LIVE_CLIENTS.inc()
        try:
            yield queue
        finally:
            LIVE_CLIENTS.dec()
            self._subscribers[tenant_id].discard(queue)
            if not self._subscribers[tenant_id]:
                del self._subscribers[tenant_id]

    def watches(self, tenant_id: str | None) -> bool:
        """Whether an update of this tenant (None: not known yet) could reach a client here."""
        if not self._subscribers:
            return False
        try:
            return tenant_id is None or uuid.UUID(tenant_id) in self._subscribers
        except ValueError:  # a malformed header: let the event itself decide
            return True

    def publish(self, tenant_id: uuid.UUID, update: dict[str, Any]) -> int:
        """Deliver to the tenant's clients; a slow client loses its oldest update, not the rest."""
        queues = self._subscribers.get(tenant_id, set())
        for queue in queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(update)
        return len(queues)


def sse_frame(update: dict[str, Any]) -> dict[str, str]:
    """The SSE fields of one update (event type = topic, id = event id)."""
    return {"event": update["topic"], "id": str(update["event"]["event_id"]), "data": json.dumps(update["event"])}
