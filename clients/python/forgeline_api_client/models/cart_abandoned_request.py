from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

from ..models.cart_abandoned_request_currency import CartAbandonedRequestCurrency
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cart_item import CartItem


T = TypeVar("T", bound="CartAbandonedRequest")


@_attrs_define
class CartAbandonedRequest:
    """The `cart.abandoned` contract minus the tenant, which is the caller's.

    Attributes:
        cart_id (str):
        currency (CartAbandonedRequestCurrency):
        items (list[CartItem]):
        user_id (str):
        event_id (UUID | Unset): Give your own to make retries idempotent.
        occurred_at (datetime.datetime | Unset):
    """

    cart_id: str
    currency: CartAbandonedRequestCurrency
    items: list[CartItem]
    user_id: str
    event_id: UUID | Unset = UNSET
    occurred_at: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        cart_id = self.cart_id

        currency = self.currency.value

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        user_id = self.user_id

        event_id: str | Unset = UNSET
        if not isinstance(self.event_id, Unset):
            event_id = str(self.event_id)

        occurred_at: str | Unset = UNSET
        if not isinstance(self.occurred_at, Unset):
            occurred_at = self.occurred_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cart_id": cart_id,
                "currency": currency,
                "items": items,
                "user_id": user_id,
            }
        )
        if event_id is not UNSET:
            field_dict["event_id"] = event_id
        if occurred_at is not UNSET:
            field_dict["occurred_at"] = occurred_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cart_item import CartItem  # noqa: PLC0415

        d = dict(src_dict)
        cart_id = d.pop("cart_id")

        currency = CartAbandonedRequestCurrency(d.pop("currency"))

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = CartItem.from_dict(items_item_data)

            items.append(items_item)

        user_id = d.pop("user_id")

        _event_id = d.pop("event_id", UNSET)
        event_id: UUID | Unset
        if isinstance(_event_id, Unset):
            event_id = UNSET
        else:
            event_id = UUID(_event_id)

        _occurred_at = d.pop("occurred_at", UNSET)
        occurred_at: datetime.datetime | Unset
        if isinstance(_occurred_at, Unset):
            occurred_at = UNSET
        else:
            occurred_at = datetime.datetime.fromisoformat(_occurred_at)

        cart_abandoned_request = cls(
            cart_id=cart_id,
            currency=currency,
            items=items,
            user_id=user_id,
            event_id=event_id,
            occurred_at=occurred_at,
        )

        return cart_abandoned_request
