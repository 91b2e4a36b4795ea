"""The one broker factory: a FastStream `KafkaBroker` (aiokafka) with telemetry and metrics.

Tansu (the local broker) rejects aiokafka's idempotent/transactional producer, so it is off;
consumers make effects exactly-once instead (see `services.common.consumer`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.abc import AbstractTokenProvider
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLOAuthBearer, SASLScram256, SASLScram512
from opentelemetry import trace
from prometheus_client import REGISTRY

from services.common.events import Event, TenantEvent
from services.common.settings import Settings
from services.common.topics import TopicSpec, all_topic_names


class MSKIAMTokenProvider(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka ships no types
    """SASL/OAUTHBEARER tokens for Amazon MSK's IAM access control, signed with the pod's AWS
    credentials (IRSA on EKS) by AWS's own signer library."""

    def __init__(self, region: str) -> None:
        self.region = region

    async def token(self) -> str:
        """A fresh token (valid 15 minutes; aiokafka asks again on every re-authentication)."""
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        token, _expiry_ms = await asyncio.to_thread(MSKAuthTokenProvider.generate_auth_token, self.region)
        return str(token)


def kafka_security(settings: Settings) -> BaseSecurity | None:
    """FastStream's security object for `KAFKA_SECURITY` (None: plaintext)."""
    mode = settings.kafka.security
    if mode == "plaintext":
        return None
    context = ssl.create_default_context(cafile=str(settings.kafka.ssl_cafile) if settings.kafka.ssl_cafile else None)
    if mode == "tls":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    if mode == "msk-iam":
        return SASLOAuthBearer(ssl_context=context, use_ssl=True)
    if not (settings.kafka.sasl_username and settings.kafka.sasl_password):
        raise RuntimeError(f"KAFKA_SECURITY={mode} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (e.g. from the MSK secret)")
    scram = SASLScram256 if mode == "scram-sha-256" else SASLScram512
    return scram(settings.kafka.sasl_username, settings.kafka.sasl_password, ssl_context=context, use_ssl=True)


def _bootstrap_servers(settings: Settings) -> str:
    if not settings.endpoints.kafka_bootstrap_servers:
        raise RuntimeError(
            "KAFKA_BOOTSTRAP_SERVERS is not set: run `forgeline up` (it sets it for its services) or point it at a Kafka cluster"
        )
    return settings.endpoints.kafka_bootstrap_servers


def _token_provider(settings: Settings) -> MSKIAMTokenProvider | None:
    return MSKIAMTokenProvider(settings.endpoints.aws_region) if settings.kafka.security == "msk-iam" else None


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Connection arguments for any aiokafka client (admin, DLQ replay): the servers and the
    same authentication the services' brokers use."""
    options: dict[str, Any] = {"bootstrap_servers": _bootstrap_servers(settings), **parse_security(kafka_security(settings))}
    if provider := _token_provider(settings):
        options["sasl_oauth_token_provider"] = provider
    return options


def create_broker(settings: Settings, service: str) -> KafkaBroker:
    """Build the service's broker (not yet connected)."""
    return KafkaBroker(
        _bootstrap_servers(settings),
        security=kafka_security(settings),
        sasl_oauth_token_provider=_token_provider(settings),
        client_id=service,
        acks="all",
        linger_ms=settings.kafka.linger_ms,
        enable_idempotence=False,
        log_level=logging.DEBUG,  # per-message lines only when debugging; failures still log
        request_timeout_ms=int(settings.client.timeout_s * 1000 * 4),
        middlewares=(
            KafkaTelemetryMiddleware(tracer_provider=trace.get_tracer_provider()),
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service),
        ),
    )


# Set on every tenant's event: readers that serve some tenants only (the gateway's live
# fan-out) skip the others' records without parsing them.
H_TENANT = "x-tenant-id"


async def publish_event(broker: KafkaBroker, spec: TopicSpec, event: Event, headers: dict[str, str] | None = None) -> None:
    """Publish one contract on its topic, keyed by its entity, and wait for the broker's ack."""
    if not isinstance(event, spec.event):
        raise TypeError(f"{spec.name} carries {spec.event.__name__}, not {type(event).__name__}")
    if isinstance(event, TenantEvent):
        headers = {**(headers or {}), H_TENANT: str(event.tenant_id)}
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


async def ensure_topics(settings: Settings, create: bool = True) -> list[str]:
    """Create every registry topic (with its retry and DLQ topics) that does not exist yet,
    with `KAFKA_TOPIC_PARTITIONS` partitions where that is set, else the registry's count; return
    their names. With `create=False` only return the missing names."""
    partitions = settings.kafka.topic_partitions
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), request_timeout_ms=20000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {n: p for n, p in all_topic_names(partitions).items() if n not in existing}
        if missing and create:
            await admin.create_topics([NewTopic(n, p, 1) for n, p in missing.items()])
        return sorted(missing)
    finally:
        await admin.close()
