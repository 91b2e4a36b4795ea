"""`POST /v1/events/cart-abandoned`: the HTTP door to the `cart.abandoned` topic."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from services.common.events import CartAbandoned, CartItem, Currency, IsoDateTime, PlainText, utcnow
from services.common.topics import CART_ABANDONED
from services.gateway.auth import Caller
from services.gateway.errors import AUTHED, publish_or_503, responses


class CartAbandonedRequest(BaseModel):
    """The `cart.abandoned` contract minus the tenant, which is the caller's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "cart_id": "cart-1042",
                    "user_id": "user-17",
                    "items": [{"sku": "SKU-001", "quantity": 1, "unit_price": "24.90"}],
                    "currency": "USD",
                }
            ]
        },
    )

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Give your own to make retries idempotent.")
    occurred_at: IsoDateTime = Field(default_factory=utcnow)
    cart_id: PlainText = Field(min_length=1, max_length=128)
    user_id: PlainText = Field(min_length=1, max_length=128)
    items: list[CartItem] = Field(min_length=1, max_length=100)
    currency: Currency


class EventAccepted(BaseModel):
    """202 answer: the event is on the bus."""

    event_id: uuid.UUID
    cart_id: str
    status: str = "queued"


def cart_routes(broker: KafkaBroker) -> APIRouter:
    """The cart event intake route."""
    router = APIRouter(prefix="/v1/events", tags=["email"], responses=AUTHED)

    @router.post("/cart-abandoned", status_code=202, response_model=EventAccepted, responses=responses(400, 413, 422, 503))
    async def cart_abandoned(body: CartAbandonedRequest, tenant: Caller) -> EventAccepted:
        """Queue a cart-abandonment email; the pipeline decides whether and what to send."""
        event = CartAbandoned(tenant_id=tenant.id, **body.model_dump())
        await publish_or_503(broker, CART_ABANDONED, event, "the cart event")
        return EventAccepted(event_id=event.event_id, cart_id=event.cart_id)

    return router
