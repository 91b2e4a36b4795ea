"""`/v1/system` through the real stack: every part's readiness, a consumer group's lag while its
handler is held, a dead letter listed with its reason and replayed to where its effect lands,
a replay refused while another holds the topic, and admin keys only."""

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from forgeline.stack import Stack
from services.common.dlq import REPLAY_GROUP
from services.common.events import EchoRequested
from services.common.topics import CONSUMER_GROUPS, ECHO_REQUESTED
from services.gateway.tenants import create_tenant
from tests.integration.conftest import new_tenant, wait_for
from tests.integration.test_kafka_paths import publish, rows_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def admin(db: asyncpg.Pool) -> dict[str, str]:
    _, key = await create_tenant(db, f"adm-{uuid.uuid4().hex[:8]}", 0, role="admin")
    return {"Authorization": f"Bearer {key}"}


async def system(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/v1/system", headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["kafka_error"] is None
    return body


def lag_of(status: dict[str, Any], group: str, topic: str) -> int:
    [row] = [c["lag"] for c in status["consumers"] if c["group"] == group and c["topic"] == topic]
    return int(row)


def waiting_in(status: dict[str, Any], topic: str) -> int:
    [row] = [d["waiting"] for d in status["dead_letters"] if d["topic"] == topic]
    return int(row)


async def test_only_admin_keys_read_the_system(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    _, key = await new_tenant(db)
    tenant = {"Authorization": f"Bearer {key}"}
    for method, path in (("GET", "/v1/system"), ("POST", "/v1/system/dead-letters/echo.requested/replay")):
        response = await client.request(method, path, headers=tenant)
        assert response.status_code == 403 and "admin key" in response.json()["message"]
    assert (await client.get("/v1/system")).status_code == 401


async def test_every_part_and_every_consumer_group_is_shown(
    client: httpx.AsyncClient, admin: dict[str, str], stack: Stack
) -> None:
    async def all_ready() -> dict[str, Any] | None:
        status = await system(client, admin)
        return status if all(part["ready"] for part in status["parts"]) else None

    status = await wait_for(all_ready)
    assert {part["name"] for part in status["parts"]} == set(stack.readiness_urls())
    gateway = next(part for part in status["parts"] if part["name"] == "gateway")
    assert gateway["checks"] == {"postgres": "ok", "redis": "ok", "kafka": "ok"}
    shown = {(c["group"], c["topic"]) for c in status["consumers"]}
    assert shown == {(g.name, name) for g in CONSUMER_GROUPS for spec in g.topics for name in (spec.name, spec.retry)}


async def test_lag_grows_while_a_handler_is_held_and_drains_after(
    client: httpx.AsyncClient, admin: dict[str, str], env: dict[str, str], db: asyncpg.Pool, faults: Path
) -> None:
    tenant, _ = await new_tenant(db)
    marker = f"hold-{uuid.uuid4().hex[:8]}"
    faults.write_text(f"echo.handle: delay 15s match={marker}\n")
    held = EchoRequested(tenant_id=tenant.id, message=marker)
    queued = [EchoRequested(tenant_id=tenant.id, message=f"queued-{i}") for i in range(5)]
    # One key, one partition: while the first record is held, nothing after it is committed.
    await publish(env["KAFKA_BOOTSTRAP_SERVERS"], [held, *queued], key=b"k-lag")

    async def behind() -> bool:
        return lag_of(await system(client, admin), "echo", ECHO_REQUESTED.name) >= len(queued) + 1

    await wait_for(behind)
    assert await rows_for(db, [held]) == {}, "the lag was read after the held record was done"

    async def drained() -> bool:
        return lag_of(await system(client, admin), "echo", ECHO_REQUESTED.name) == 0

    await wait_for(drained, timeout_s=60)
    assert set((await rows_for(db, [held, *queued])).values()) == {1}


async def test_a_dead_letter_is_listed_with_its_reason_and_replayed_to_its_effect(
    client: httpx.AsyncClient, admin: dict[str, str], env: dict[str, str], db: asyncpg.Pool, faults: Path
) -> None:
    tenant, _ = await new_tenant(db)
    marker = f"dead-{uuid.uuid4().hex[:8]}"
    key = f"k-{marker}"
    faults.write_text(f"echo.handle: fail 100% match={marker}\n")
    event = EchoRequested(tenant_id=tenant.id, message=marker)
    await publish(env["KAFKA_BOOTSTRAP_SERVERS"], [event], key=key.encode())

    async def listed() -> dict[str, Any] | None:
        response = await client.get("/v1/system/dead-letters/echo.requested", headers=admin)
        assert response.status_code == 200, response.text
        return next((letter for letter in response.json() if letter["key"] == key), None)

    letter = await wait_for(listed)
    assert letter["group"] == "echo" and "InjectedFaultError" in letter["error"]
    assert waiting_in(await system(client, admin), ECHO_REQUESTED.name) >= 1
    assert await rows_for(db, [event]) == {}

    # A replay of the topic held elsewhere (another replica, the CLI) is refused, not doubled.
    async with db.acquire() as other:
        lock = f"{REPLAY_GROUP}:{ECHO_REQUESTED.dlq}"
        assert await other.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock)
        try:
            busy = await client.post("/v1/system/dead-letters/echo.requested/replay", headers=admin)
        finally:
            await other.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)
    assert busy.status_code == 409 and "running" in busy.json()["message"]

    faults.write_text("")  # the cause is fixed
    replayed = await client.post("/v1/system/dead-letters/echo.requested/replay", headers=admin)
    assert replayed.status_code == 200, replayed.text
    assert key in {letter["key"] for letter in replayed.json()["replayed"]}
    await wait_for(lambda: rows_for(db, [event]))  # the echo row, where the replayed letter's effect lands
    assert waiting_in(await system(client, admin), ECHO_REQUESTED.name) == 0
    unknown = await client.get("/v1/system/dead-letters/echo.completed", headers=admin)
    assert unknown.status_code == 422  # not consumed through the retry policy: it has no DLQ
