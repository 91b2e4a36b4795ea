"""Replaying a dead-letter topic: `forgeline dlq replay TOPIC`.

Each record of `<topic>.dlq` not replayed before is sent back through `<topic>.retry`,
addressed to the consumer group that gave up on it (so other groups of the topic see
nothing), with a fresh retry budget. Progress is the committed offset of the group
`forgeline-dlq-replay` on the DLQ topic, so every dead letter is replayed exactly once,
however often the command runs. Records that arrive while it runs wait for the next run.
A replay holds its topic's lock (a Postgres advisory lock) throughout, so two at once (the
command, the console, two gateway replicas) never send one dead letter back twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.common.broker import kafka_client_options
from services.common.retry import H_ATTEMPT, H_DLQ_AT, H_ERROR, H_ERROR_TYPE, H_GROUP, H_NOT_BEFORE, now_ms
from services.common.settings import Settings
from services.common.topics import TopicSpec

REPLAY_GROUP = "forgeline-dlq-replay"
H_REPLAYED_FROM = "x-replayed-from"


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ record, as listed or replayed."""

    partition: int
    offset: int
    key: str
    group: str
    error: str


def replay_headers(headers: dict[str, str], partition: int, offset: int) -> dict[str, str]:
    """A dead letter's headers for its trip back through the retry topic."""
    out = {k: v for k, v in headers.items() if k not in (H_ERROR, H_ERROR_TYPE, H_DLQ_AT)}
    out[H_ATTEMPT] = "1"  # a fresh budget: the cause (say, SMTP down) is meant to be fixed now
    out[H_NOT_BEFORE] = str(now_ms())
    out[H_REPLAYED_FROM] = f"{partition}:{offset}"
    return out


class ReplayBusyError(RuntimeError):
    """Another replay of the topic's dead letters holds its lock."""


async def replay_dead_letters(settings: Settings, spec: TopicSpec, dry_run: bool = False) -> list[DeadLetter]:
    """Replay (or, with `dry_run`, only list) the dead letters not replayed yet; a replay while
    another of the same topic runs raises ReplayBusyError."""
    if dry_run:
        return await _read_dead_letters(settings, spec, dry_run=True)
    lock = f"{REPLAY_GROUP}:{spec.dlq}"
    conn = await asyncpg.connect(settings.endpoints.database_url, timeout=settings.client.timeout_s)
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
            raise ReplayBusyError(f"a replay of {spec.dlq} is running; try again when it has finished")
        try:
            return await _read_dead_letters(settings, spec, dry_run=False)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)
    finally:
        await conn.close()


async def _read_dead_letters(settings: Settings, spec: TopicSpec, dry_run: bool) -> list[DeadLetter]:
    options = kafka_client_options(settings)
    consumer = AIOKafkaConsumer(**options, group_id=REPLAY_GROUP, enable_auto_commit=False, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(**options, acks="all")
    await consumer.start()
    await producer.start()
    done: list[DeadLetter] = []
    try:
        if spec.dlq not in await consumer.topics():  # also loads the metadata partitions_for_topic reads
            raise ValueError(f"{spec.dlq} does not exist (is {spec.name} consumed through the retry/DLQ policy?)")
        partitions = [TopicPartition(spec.dlq, p) for p in sorted(consumer.partitions_for_topic(spec.dlq) or ())]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
        pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=2000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    headers = {k: v.decode() for k, v in record.headers}
                    done.append(
                        DeadLetter(
                            tp.partition,
                            record.offset,
                            (record.key or b"").decode(errors="replace"),
                            headers.get(H_GROUP, ""),
                            headers.get(H_ERROR, ""),
                        )
                    )
                    if not dry_run:
                        out = replay_headers(headers, tp.partition, record.offset)
                        await producer.send_and_wait(
                            spec.retry, record.value, key=record.key, headers=[(k, v.encode()) for k, v in out.items()]
                        )
                        await consumer.commit({tp: record.offset + 1})
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await producer.stop()
        await consumer.stop()
    return done
