"""Echo logic: record a requested echo exactly once and announce it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from services.common.events import EchoCompleted, EchoRequested
from services.common.faults import FaultFlags


class Effects(Protocol):
    """Where the effect is written: a transaction that also holds the idempotency record."""

    async def execute(self, query: str, *args: Any) -> Any: ...


class Idempotency(Protocol):
    """`services.common.idempotency.IdempotencyStore`, or an in-memory fake in unit tests."""

    def once(self, key: str) -> AbstractAsyncContextManager[Effects | None]: ...


@dataclass
class EchoDeps:
    """What `record_echo` needs, passed in by the wiring."""

    store: Idempotency
    publish_completed: Callable[[EchoCompleted], Awaitable[None]]
    faults: FaultFlags
    instance: str


def completion_id(event: EchoRequested) -> uuid.UUID:
    """Deterministic, so a re-announced completion carries the same event id."""
    return uuid.uuid5(event.event_id, "echo.completed")


async def record_echo(event: EchoRequested, deps: EchoDeps) -> EchoCompleted:
    """Write the echo to `echo_log` once per event, then publish `echo.completed`.

    A redelivered event skips the write but announces again (same completion event id),
    so a crash between the write and the publish never loses the announcement.
    """
    await deps.faults.check("echo.handle", subject=event.message)
    async with deps.store.once(str(event.event_id)) as tx:
        if tx is not None:
            await tx.execute(
                "INSERT INTO echo_log (echo_id, event_id, tenant_id, message, processed_by) VALUES ($1, $2, $3, $4, $5)",
                event.echo_id,
                event.event_id,
                event.tenant_id,
                event.message,
                deps.instance,
            )
    if tx is not None:
        await deps.faults.check("echo.after_effect", subject=event.message)
    completed = EchoCompleted(
        event_id=completion_id(event),
        tenant_id=event.tenant_id,
        echo_id=event.echo_id,
        message=event.message,
        processed_by=deps.instance,
    )
    await deps.publish_completed(completed)
    return completed
