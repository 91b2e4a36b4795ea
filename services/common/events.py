"""Event contracts: every Kafka message is one of these pydantic v2 models.

Each carries `event_id`, `occurred_at`, `schema_version` and, where it applies,
`tenant_id`. Keys are the entity whose order matters (see `Event.key`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """Timezone-aware now, the only clock contracts use."""
    return datetime.now(UTC)


class Event(BaseModel):
    """Base of every event on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    SCHEMA_VERSION: ClassVar[int] = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique id; consumers de-duplicate on it.")
    occurred_at: datetime = Field(default_factory=utcnow)
    schema_version: int = Field(default=1, ge=1)

    def key(self) -> bytes:
        """Partition key: the entity whose per-entity order matters."""
        return str(self.event_id).encode()


class TenantEvent(Event):
    """An event that belongs to one tenant."""

    tenant_id: uuid.UUID


class EchoRequested(TenantEvent):
    """A tenant asked the platform to echo a message (the spine's round trip)."""

    echo_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    message: str = Field(min_length=1, max_length=4000)

    def key(self) -> bytes:
        return str(self.echo_id).encode()


class EchoCompleted(TenantEvent):
    """The echo service handled an `EchoRequested` and recorded it."""

    echo_id: uuid.UUID
    message: str
    processed_by: str

    def key(self) -> bytes:
        return str(self.echo_id).encode()


class BenchPing(Event):
    """Benchmark traffic (`forgeline bench`): measures the transport, not a pipeline."""

    seq: int
    payload: str = ""


ImageStatus = Literal["queued", "running", "succeeded", "failed", "rejected"]


class ImageParams(BaseModel):
    """What to draw: the part of an image request the model and the prompt cache see."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, max_length=1000)
    width: int = Field(ge=8)
    height: int = Field(ge=8)
    steps: int = Field(ge=1)
    seed: int | None = None


class ImageRequested(TenantEvent):
    """A tenant asked for an image; the imagegen consumer starts saga `image-<job_id>`."""

    job_id: uuid.UUID
    params: ImageParams

    def key(self) -> bytes:
        return str(self.job_id).encode()


class ImageJobEvent(TenantEvent):
    """A status change of an image job (running, and the final outcomes)."""

    job_id: uuid.UUID
    status: ImageStatus
    reason: str | None = None
    cached: bool = False
    credits_charged: int = 0
    object_key: str | None = None

    def key(self) -> bytes:
        return str(self.job_id).encode()


class ImageStatusChanged(ImageJobEvent):
    """An image job moved to a non-final state (`running`)."""


class ImageCompleted(ImageJobEvent):
    """An image job succeeded: the PNG is stored at `object_key`."""


class ImageFailed(ImageJobEvent):
    """An image job ended `failed` (compensated) or `rejected` (e.g. no credits)."""


# ---- marketing email ------------------------------------------------------------------------

Currency = Literal["USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "SEK", "NOK", "DKK"]


class CartItem(BaseModel):
    """One line of an abandoned cart."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class CartAbandoned(TenantEvent):
    """A shopper left items in a cart (any Kafka client may produce it; key: cart_id)."""

    cart_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    items: list[CartItem] = Field(min_length=1, max_length=100)
    currency: Currency

    def key(self) -> bytes:
        return self.cart_id.encode()


class EmailOutbound(TenantEvent):
    """A composed email ready to send (the generated one, or the safe fallback)."""

    cart_id: str
    user_id: str
    to: str
    subject: str
    preheader: str
    text: str
    html: str
    discount_code: str | None = None
    fallback: bool = False
    failed_checks: list[str] = Field(default_factory=list)
    template_id: str
    backend: str
    stage_ms: dict[str, float] = Field(default_factory=dict, description="Time per composition stage.")

    def key(self) -> bytes:
        return self.cart_id.encode()


class EmailDelivered(TenantEvent):
    """The delivery service handed the email to the SMTP server."""

    cart_id: str
    user_id: str
    message_id: str
    fallback: bool
    delivery_ms: float = Field(default=0.0, description="Time from dequeue to the SMTP server's acceptance.")

    def key(self) -> bytes:
        return self.cart_id.encode()


class EmailFailed(TenantEvent):
    """No email went out for this cart, and why (suppressed, frequency cap, ...)."""

    cart_id: str
    user_id: str
    reason: str

    def key(self) -> bytes:
        return self.cart_id.encode()
