"""The one broker factory: a FastStream `KafkaBroker` (aiokafka) with telemetry and metrics.

Tansu (the local broker) rejects aiokafka's idempotent/transactional producer, so it is off;
consumers make effects exactly-once instead (see `services.common.consumer`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from opentelemetry import trace
from prometheus_client import REGISTRY

from services.common.events import Event
from services.common.settings import Settings
from services.common.topics import TopicSpec, all_topic_names


def create_broker(settings: Settings, service: str) -> KafkaBroker:
    """Build the service's broker (not yet connected)."""
    if not settings.kafka_bootstrap_servers:
        raise RuntimeError(
            "KAFKA_BOOTSTRAP_SERVERS is not set: run `forgeline up` (it sets it for its services) or point it at a Kafka cluster"
        )
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=service,
        acks="all",
        linger_ms=settings.kafka_linger_ms,
        enable_idempotence=False,
        log_level=logging.DEBUG,  # per-message lines only when debugging; failures still log
        request_timeout_ms=int(settings.client_timeout_s * 1000 * 4),
        middlewares=(
            KafkaTelemetryMiddleware(tracer_provider=trace.get_tracer_provider()),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service),
        ),
    )


async def publish_event(broker: KafkaBroker, spec: TopicSpec, event: Event, headers: dict[str, str] | None = None) -> None:
    """Publish one contract on its topic, keyed by its entity, and wait for the broker's ack."""
    if not isinstance(event, spec.event):
        raise TypeError(f"{spec.name} carries {spec.event.__name__}, not {type(event).__name__}")
    await broker.publish(event, spec.name, key=event.key(), headers=headers)


Publish = Callable[[TopicSpec, Event], Awaitable[None]]


def publisher(broker: KafkaBroker) -> Publish:
    """`publish_event` bound to one broker: what handlers that publish take as a dependency."""

    async def publish(spec: TopicSpec, event: Event) -> None:
        await publish_event(broker, spec, event)

    return publish


def broker_ready(broker: KafkaBroker) -> Callable[[], Awaitable[None]]:
    """A readiness check (for `add_ops_routes`) that fails while the broker does not answer."""

    async def ready() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("Kafka broker did not answer")

    return ready


async def ensure_topics(bootstrap_servers: str, partitions: int | None = None, create: bool = True) -> list[str]:
    """Create every registry topic (with its retry and DLQ topics) that does not exist yet;
    return their names. With `create=False` only return the missing names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=20000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {n: p for n, p in all_topic_names(partitions).items() if n not in existing}
        if missing and create:
            await admin.create_topics([NewTopic(n, p, 1) for n, p in missing.items()])
        return sorted(missing)
    finally:
        await admin.close()
