"""Publish -> consume -> commit, the DLQ, and kill -9 drills, through the real stack."""

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.common.events import EchoRequested
from services.common.retry import H_ATTEMPT, H_ERROR, H_ERROR_TYPE
from services.common.topics import ECHO_REQUESTED
from tests.integration.conftest import new_tenant, wait_for


async def publish(
    bootstrap: str, events: list[EchoRequested], key: bytes, headers: list[tuple[str, bytes]] | None = None
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:  # same key: same partition, in this order
            await producer.send_and_wait(ECHO_REQUESTED.name, event.model_dump_json().encode(), key=key, headers=headers)
    finally:
        await producer.stop()


async def rows_for(db: asyncpg.Pool, events: list[EchoRequested]) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT event_id::text AS id, count(*) AS n FROM echo_log WHERE event_id = ANY($1::uuid[]) GROUP BY event_id",
        [e.event_id for e in events],
    )
    return {r["id"]: r["n"] for r in rows}


async def committed_total(bootstrap: str, group: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # loads the metadata partitions_for_topic reads
        total = 0
        for partition in consumer.partitions_for_topic(topic) or ():
            total += await consumer.committed(TopicPartition(topic, partition)) or 0
        return total
    finally:
        await consumer.stop()


@pytest.mark.integration
async def test_publish_consume_commit(env: dict[str, str], db: asyncpg.Pool) -> None:
    tenant, _ = await new_tenant(db)
    before = await committed_total(env["KAFKA_BOOTSTRAP_SERVERS"], "echo", ECHO_REQUESTED.name)
    events = [EchoRequested(tenant_id=tenant.id, message=f"plain-{i}") for i in range(5)]
    await publish(env["KAFKA_BOOTSTRAP_SERVERS"], events, key=b"k-plain")
    counts = await wait_for(lambda: _all_done(db, events))
    assert set(counts.values()) == {1}

    async def advanced() -> bool:
        return await committed_total(env["KAFKA_BOOTSTRAP_SERVERS"], "echo", ECHO_REQUESTED.name) >= before + 5

    await wait_for(advanced)


async def _all_done(db: asyncpg.Pool, events: list[EchoRequested]) -> dict[str, int] | None:
    counts = await rows_for(db, events)
    return counts if len(counts) == len(events) else None


@pytest.mark.integration
async def test_poison_message_lands_in_dlq_after_n_attempts_while_the_partition_flows(
    env: dict[str, str], db: asyncpg.Pool, faults: object
) -> None:
    tenant, _ = await new_tenant(db)
    marker = f"poison-{uuid.uuid4().hex[:8]}"
    faults.write_text(f"echo.handle: fail 100% match={marker}\n")  # type: ignore[attr-defined]
    poison = EchoRequested(tenant_id=tenant.id, message=marker)
    after = [EchoRequested(tenant_id=tenant.id, message=f"after-{i}") for i in range(3)]
    dlq = AIOKafkaConsumer(ECHO_REQUESTED.dlq, bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], auto_offset_reset="latest")
    await dlq.start()
    try:
        await dlq.seek_to_end()
        await publish(env["KAFKA_BOOTSTRAP_SERVERS"], [poison, *after], key=b"k-poison", headers=[("x-test", b"keep")])
        # The later messages on the same partition are handled while the poison is still retrying.
        await wait_for(lambda: _all_done(db, after), timeout_s=20)
        dead = None
        deadline = asyncio.get_running_loop().time() + 30
        while dead is None and asyncio.get_running_loop().time() < deadline:
            batch = await dlq.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    if EchoRequested.model_validate_json(record.value).event_id == poison.event_id:
                        dead = record
        assert dead is not None, "poison message never reached the DLQ"
        headers = {k: v.decode() for k, v in dead.headers}
        assert headers[H_ATTEMPT] == "3"
        assert headers[H_ERROR_TYPE] == "InjectedFaultError"
        assert "gave up after 3 attempts" in headers[H_ERROR]
        assert headers["x-test"] == "keep"
        assert await rows_for(db, [poison]) == {}
    finally:
        await dlq.stop()
