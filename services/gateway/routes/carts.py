"""`POST /v1/events/cart-abandoned`: the HTTP door to the `cart.abandoned` topic."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from services.common.broker import publish_event
from services.common.events import CartAbandoned, CartItem, Currency, utcnow
from services.common.topics import CART_ABANDONED
from services.gateway.auth import Caller


class CartAbandonedRequest(BaseModel):
    """The `cart.abandoned` contract minus the tenant, which is the caller's."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Give your own to make retries idempotent.")
    occurred_at: datetime = Field(default_factory=utcnow)
    cart_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)
    items: list[CartItem] = Field(min_length=1, max_length=100)
    currency: Currency


class EventAccepted(BaseModel):
    """202 answer: the event is on the bus."""

    event_id: uuid.UUID
    cart_id: str
    status: str = "queued"


def cart_routes(broker: KafkaBroker) -> APIRouter:
    """The cart event intake route."""
    router = APIRouter(prefix="/v1/events", tags=["email"])

    @router.post("/cart-abandoned", status_code=202, response_model=EventAccepted)
    async def cart_abandoned(body: CartAbandonedRequest, tenant: Caller) -> EventAccepted:
        """Queue a cart-abandonment email; the pipeline decides whether and what to send."""
        event = CartAbandoned(tenant_id=tenant.id, **body.model_dump())
        await publish_event(broker, CART_ABANDONED, event)
        return EventAccepted(event_id=event.event_id, cart_id=event.cart_id)

    return router
