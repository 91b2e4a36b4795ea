"""Echo logic with in-memory fakes: exactly-once effect, re-announcement on redelivery."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from services.common.events import EchoCompleted, EchoRequested
from services.common.faults import FaultFlags
from services.echo.handlers import EchoDeps, record_echo

pytestmark = pytest.mark.unit


class MemoryEffects:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    async def execute(self, query: str, *args: Any) -> None:
        self.rows.append(args)


class MemoryStore:
    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.effects = MemoryEffects()

    @asynccontextmanager
    async def once(self, key: str) -> AsyncIterator[MemoryEffects | None]:
        if key in self.keys:
            yield None
            return
        self.keys.add(key)
        yield self.effects


async def test_redelivery_writes_once_and_announces_with_the_same_event_id() -> None:
    store = MemoryStore()
    announced: list[EchoCompleted] = []

    async def publish(e: EchoCompleted) -> None:
        announced.append(e)

    deps = EchoDeps(store, publish, FaultFlags(None), "test:1")
    event = EchoRequested(tenant_id=uuid.uuid4(), message="hi")
    await record_echo(event, deps)
    await record_echo(event, deps)
    assert len(store.effects.rows) == 1
    assert len(announced) == 2
    assert announced[0].event_id == announced[1].event_id
    assert announced[0].tenant_id == event.tenant_id
