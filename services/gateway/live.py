"""Live updates: completion events fanned out to the connected clients of their tenant only.

Every gateway replica reads every completion record (no consumer group, from the latest
offset, nothing committed): a broadcast, not work to share. It reads with a plain aiokafka
consumer in batches, not as a FastStream subscriber: that one gave each record a span and
metrics and cost the gateway ~0.3 ms of CPU per completion, mostly for records no client of this
replica could receive. The tenant header lets it skip those without parsing them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from prometheus_client import Counter, Gauge

from services.common.broker import H_TENANT
from services.common.topics import spec_for

LIVE_CLIENTS = Gauge("forgeline_live_clients", "Connected SSE/WebSocket clients.")
LIVE_UNREADABLE = Counter("forgeline_live_unreadable_total", "Completion records the live fan-out could not parse.", ["topic"])
log = logging.getLogger("forgeline.live")


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


class Record(Protocol):
    """What the relay reads of an aiokafka `ConsumerRecord`."""

    topic: str
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


def relay(hub: LiveHub, records: Sequence[Record]) -> int:
    """Hand each record that a client here could receive to the hub; the number delivered.

    A record that does not parse is counted and logged, never raised: the topic's own
    consumers (with their retry and DLQ policy) own it, this is only a copy for live views."""
    delivered = 0
    for record in records:
        tenant = next((v.decode(errors="replace") for k, v in record.headers if k == H_TENANT), None)
        if not hub.watches(tenant) or record.value is None:
            continue
        try:
            spec = spec_for(record.topic)
            event = spec.event.model_validate_json(record.value)
        except (ValueError, KeyError) as error:  # pydantic's ValidationError, an unknown topic
            LIVE_UNREADABLE.labels(record.topic).inc()
            log.warning("live fan-out skipped an unreadable record on %s: %s", record.topic, str(error)[:200])
            continue
        tenant_id = getattr(event, "tenant_id", None)
        if tenant_id is not None:
            delivered += hub.publish(tenant_id, {"topic": spec.name, "event": event.model_dump(mode="json")})
    return delivered


class BatchReader(Protocol):
    """The part of `AIOKafkaConsumer` the fan-out uses."""

    async def getmany(self, *, timeout_ms: int, max_records: int | None) -> dict[Any, list[Any]]: ...


async def follow(hub: LiveHub, consumer: BatchReader, retry_after_s: float = 1.0) -> None:
    """Relay completion records to the hub until cancelled. aiokafka reconnects by itself;
    any other failure is logged and the loop goes on, so live views never stop for good."""
    while True:
        try:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
        except Exception:
            log.exception("live fan-out could not read the completion topics; retrying")
            await asyncio.sleep(retry_after_s)
            continue
        for records in batches.values():
            relay(hub, records)
