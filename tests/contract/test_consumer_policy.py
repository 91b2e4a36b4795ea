"""The retry/DLQ wiring, through FastStream's in-memory TestKafkaBroker (no Kafka)."""

import uuid

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.common.consumer import consume
from services.common.events import EchoRequested
from services.common.faults import InjectedFaultError
from services.common.retry import H_ATTEMPT, H_ERROR, H_ERROR_TYPE, RetryPolicy
from services.common.settings import Settings
from services.common.topics import ECHO_REQUESTED

pytestmark = pytest.mark.contract
FAST = RetryPolicy(max_attempts=3, backoff_initial_s=0.0, backoff_max_s=0.0)


def wire(handler: object) -> tuple[KafkaBroker, list[KafkaMessage]]:
    broker = KafkaBroker()
    consume(broker, ECHO_REQUESTED, "g", handler, Settings(), FAST)  # type: ignore[arg-type]
    dead: list[KafkaMessage] = []

    @broker.subscriber(ECHO_REQUESTED.dlq)
    async def collect(msg: KafkaMessage) -> None:
        dead.append(msg)

    return broker, dead


def event() -> EchoRequested:
    return EchoRequested(tenant_id=uuid.uuid4(), message="hello")


async def test_success_is_handled_once_and_nothing_is_dead_lettered() -> None:
    seen: list[EchoRequested] = []

    async def handler(e: EchoRequested) -> None:
        seen.append(e)

    broker, dead = wire(handler)
    sent = event()
    async with TestKafkaBroker(broker) as br:
        await br.publish(sent, ECHO_REQUESTED.name, key=sent.key())
    assert seen == [sent]
    assert dead == []


async def test_transient_failure_retries_then_dead_letters_with_error_and_headers() -> None:
    attempts: list[int] = []

    async def handler(e: EchoRequested) -> None:
        attempts.append(1)
        raise InjectedFaultError("always")

    broker, dead = wire(handler)
    sent = event()
    async with TestKafkaBroker(broker) as br:
        await br.publish(sent, ECHO_REQUESTED.name, key=sent.key(), headers={"x-trace": "keep-me"})
    assert len(attempts) == FAST.max_attempts
    assert len(dead) == 1
    assert dead[0].headers[H_ATTEMPT] == str(FAST.max_attempts)
    assert dead[0].headers[H_ERROR_TYPE] == "InjectedFaultError"
    assert "always" in dead[0].headers[H_ERROR]
    assert dead[0].headers["x-trace"] == "keep-me"
    assert EchoRequested.model_validate_json(dead[0].body) == sent


async def test_recovering_handler_succeeds_on_retry() -> None:
    attempts: list[int] = []

    async def handler(e: EchoRequested) -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("blip")

    broker, dead = wire(handler)
    async with TestKafkaBroker(broker) as br:
        sent = event()
        await br.publish(sent, ECHO_REQUESTED.name, key=sent.key())
    assert len(attempts) == 2
    assert dead == []


async def test_poison_payload_goes_to_dlq_at_once() -> None:
    async def handler(e: EchoRequested) -> None:
        raise AssertionError("never called with an invalid payload")

    broker, dead = wire(handler)
    async with TestKafkaBroker(broker) as br:
        await br.publish(b'{"not": "an echo"}', ECHO_REQUESTED.name, key=b"k")
    assert len(dead) == 1
    assert dead[0].headers[H_ATTEMPT] == "1"
    assert dead[0].headers[H_ERROR_TYPE] == "ValidationError"


async def test_batch_mode_routes_each_failure_and_handles_the_rest() -> None:
    seen: list[str] = []

    async def handler(e: EchoRequested) -> None:
        if e.message == "poison":
            raise InjectedFaultError("bad one")
        seen.append(e.message)

    broker = KafkaBroker()
    consume(broker, ECHO_REQUESTED, "g", handler, Settings(), FAST, batch_size=8, concurrency=4)
    dead: list[KafkaMessage] = []

    @broker.subscriber(ECHO_REQUESTED.dlq)
    async def collect(msg: KafkaMessage) -> None:
        dead.append(msg)

    async with TestKafkaBroker(broker) as br:
        for text in ("one", "poison", "two"):
            sent = EchoRequested(tenant_id=uuid.uuid4(), message=text)
            await br.publish(sent, ECHO_REQUESTED.name, key=sent.key())
    assert sorted(seen) == ["one", "two"]
    assert len(dead) == 1 and "bad one" in dead[0].headers[H_ERROR]


async def test_tenant_events_carry_their_tenant_in_a_header_beside_the_callers() -> None:
    from services.common.broker import H_TENANT, publish_event

    broker = KafkaBroker()
    received: list[KafkaMessage] = []

    @broker.subscriber(ECHO_REQUESTED.name)
    async def collect(msg: KafkaMessage) -> None:
        received.append(msg)

    sent = event()
    async with TestKafkaBroker(broker):
        await publish_event(broker, ECHO_REQUESTED, sent, headers={"x-trace": "keep-me"})
    assert received[0].headers[H_TENANT] == str(sent.tenant_id)
    assert received[0].headers["x-trace"] == "keep-me"
