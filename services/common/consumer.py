"""The one consumer policy, wired onto FastStream subscribers.

* manual commit after the handler succeeds (or after the failed message was handed on);
* a failure goes to `<topic>.retry` with exponential backoff, and after N attempts (or at
  once, for permanent errors) to `<topic>.dlq` with the error and the original headers, so a
  poison message never blocks its partition;
* consumer lag is computed from the high-water mark the fetches report.

Handlers are plain async functions of a contract; this module is the only wiring.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from services.common.events import Event
from services.common.retry import (
    H_ATTEMPT,
    H_GROUP,
    H_NOT_BEFORE,
    RetryPolicy,
    decide,
    dlq_headers,
    now_ms,
    retry_headers,
)
from services.common.settings import Settings
from services.common.telemetry import CONSUMER_LAG, HANDLER_SECONDS, MESSAGES_HANDLED, mark_event
from services.common.topics import RETRY_SUFFIX, TopicSpec

E = TypeVar("E", bound=Event)
_TRACER = trace.get_tracer("forgeline.consumer")
log = logging.getLogger("forgeline.consumer")


def policy_from(settings: Settings) -> RetryPolicy:
    """The retry policy configured in settings."""
    return RetryPolicy(settings.retry.max_attempts, settings.retry.backoff_initial_s, settings.retry.backoff_max_s)


def consume(
    broker: KafkaBroker,
    spec: TopicSpec,
    group: str,
    handler: Callable[[Any], Awaitable[None]],
    settings: Settings,
    policy: RetryPolicy | None = None,
    batch_size: int = 1,
    concurrency: int = 16,
    on_dead_letter: DeadLetterHook | None = None,
) -> None:
    """Subscribe `handler` to `spec` (and its retry topic) under consumer group `group`.

    With `batch_size` > 1 the main topic is read in batches and handled `concurrency` at a
    time (throughput pipelines); the commit then covers the whole batch, so a crash
    redelivers the batch and idempotent handlers keep effects exactly-once.
    `on_dead_letter(event, reason)` runs after a valid event was dead-lettered (e.g. to
    announce the failure on the pipeline's own topic).
    """
    policy = policy or policy_from(settings)
    options: dict[str, Any] = {
        "group_id": group,
        "ack_policy": AckPolicy.MANUAL,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka.session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka.heartbeat_interval_ms,
        "fetch_max_wait_ms": settings.kafka.fetch_max_wait_ms,
    }

    process = _processor(broker, spec, group, handler, policy, on_dead_letter)

    async def handle(msg: KafkaMessage, attempt: int) -> None:
        record = kafka_record(msg)
        await process(msg.body, {k: str(v) for k, v in msg.headers.items()}, record, attempt)
        await msg.ack()
        _record_lag(msg.consumer, record, group)

    if batch_size > 1:
        # Batches: records of different keys run concurrently (one key's stay in order), every
        # failure is routed one by one, and the batch is committed once when all are done.
        @broker.subscriber(
            spec.name, title=f"{group}:{spec.name}", batch=True, max_records=batch_size, batch_timeout_ms=50, **options
        )
        async def on_batch(msg: KafkaMessage) -> None:
            records = cast(tuple[ConsumerRecord[bytes, bytes], ...], msg.raw_message)
            lanes: dict[tuple[int, bytes | None], list[ConsumerRecord[bytes, bytes]]] = {}
            for record in records:
                lanes.setdefault((record.partition, record.key), []).append(record)
            gate = asyncio.Semaphore(concurrency)

            async def lane(lane_records: list[ConsumerRecord[bytes, bytes]]) -> None:
                for record in lane_records:
                    async with gate:
                        headers = {k: v.decode(errors="replace") for k, v in record.headers}
                        # The batch has one span of FastStream's; each record continues its own trace.
                        with _TRACER.start_as_current_span(
                            f"{spec.name} process",
                            context=propagate.extract(headers),
                            kind=SpanKind.CONSUMER,
                            attributes={
                                "messaging.destination.name": spec.name,
                                "messaging.consumer.group.name": group,
                                "messaging.kafka.message.offset": record.offset,
                                "messaging.kafka.destination.partition": record.partition,
                            },
                        ):
                            await process(record.value or b"", headers, record, 1)

            await asyncio.gather(*(lane(r) for r in lanes.values()))
            await msg.ack()
            for record in records:
                _record_lag(msg.consumer, record, group)

    else:

        @broker.subscriber(spec.name, title=f"{group}:{spec.name}", **options)
        async def on_message(msg: KafkaMessage) -> None:
            await handle(msg, attempt=1)

    # The retry topic is read under a group of its own: one Kafka group whose members subscribe
    # to different topics came back from a broker restart with the retry member assigned nothing
    # (found by the kafka-restarted-under-load drill), and its retries then waited forever.
    retry_options = {**options, "group_id": retry_group(group)}

    @broker.subscriber(spec.retry, title=f"{group}:{spec.retry}", include_in_schema=False, **retry_options)
    async def on_retry(msg: KafkaMessage) -> None:
        if msg.headers.get(H_GROUP) != group:  # another group's retry: not ours to handle
            await msg.ack()
            return
        wait_ms = int(msg.headers.get(H_NOT_BEFORE, "0")) - now_ms()
        if wait_ms > 0:
            await asyncio.sleep(min(wait_ms / 1000, policy.backoff_max_s))
        await handle(msg, attempt=int(msg.headers.get(H_ATTEMPT, "2")))


def retry_group(group: str) -> str:
    """The Kafka consumer group that reads `group`'s retry topic (the `x-retry-group` header keeps `group`)."""
    return group + RETRY_SUFFIX


Process = Callable[[bytes, dict[str, str], ConsumerRecord[bytes, bytes], int], Awaitable[None]]


DeadLetterHook = Callable[[Any, str], Awaitable[None]]


def _processor(
    broker: KafkaBroker,
    spec: TopicSpec,
    group: str,
    handler: Callable[[Any], Awaitable[None]],
    policy: RetryPolicy,
    on_dead_letter: DeadLetterHook | None = None,
) -> Process:
    """Validate, handle, and route any failure to the retry topic or the DLQ (never raises)."""

    async def process(body: bytes, original: dict[str, str], record: ConsumerRecord[bytes, bytes], attempt: int) -> None:
        topic = spec.name
        outcome = "ok"
        event: Event | None = None
        try:
            event = spec.event.model_validate_json(body)
            mark_event(event)
            with HANDLER_SECONDS.labels(topic, group).time():
                await handler(event)
        except Exception as error:  # every failure is routed, never dropped or re-raised
            decision = decide(policy, attempt, error)
            outcome = decision.action
            where = {"group": group, "topic": topic, "partition": record.partition, "offset": record.offset}
            if decision.action == "retry":
                headers = retry_headers(original, decision=decision, **where)
                await broker.publish(body, spec.retry, key=record.key, headers=headers)
            else:
                headers = dlq_headers(original, decision=decision, error=error, **where)
                await broker.publish(body, spec.dlq, key=record.key, headers=headers)
                if on_dead_letter is not None and event is not None:
                    try:  # tell the pipeline's listeners; the dead letter itself is already safe
                        await on_dead_letter(event, decision.reason)
                    except Exception:
                        log.exception("%s: the dead-letter hook failed for %s@%s", group, record.topic, record.offset)
            log.warning(
                "%s %s[%s]@%s attempt %s -> %s: %s",
                group,
                record.topic,
                record.partition,
                record.offset,
                attempt,
                decision.action,
                type(error).__name__,
            )
        MESSAGES_HANDLED.labels(topic, group, outcome).inc()

    return process


def kafka_record(msg: KafkaMessage) -> ConsumerRecord[bytes, bytes]:
    """The aiokafka record under a FastStream message (single-message subscribers only)."""
    return cast(ConsumerRecord[bytes, bytes], msg.raw_message)


def _record_lag(consumer: Any, record: ConsumerRecord[bytes, bytes], group: str) -> None:
    """Lag = high-water mark - next offset; needs a real aiokafka consumer (not the test fake)."""
    highwater = getattr(consumer, "highwater", None)
    if highwater is None:
        return
    mark = highwater(TopicPartition(record.topic, record.partition))
    if mark is not None:
        CONSUMER_LAG.labels(record.topic, str(record.partition), group).set(max(0, mark - record.offset - 1))
