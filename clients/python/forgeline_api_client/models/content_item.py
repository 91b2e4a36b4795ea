from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.content_item_status import ContentItemStatus

if TYPE_CHECKING:
    from ..models.moderation_decided import ModerationDecided


T = TypeVar("T", bound="ContentItem")


@_attrs_define
class ContentItem:
    """One of the tenant's items, as the latest list shows it.

    Attributes:
        content_id (UUID):
        country (str):
        decision (ModerationDecided | None): The current decision; null while pending or in review.
        status (ContentItemStatus):
        submitted_at (datetime.datetime):
        text (str):
    """

    content_id: UUID
    country: str
    decision: ModerationDecided | None
    status: ContentItemStatus
    submitted_at: datetime.datetime
    text: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.moderation_decided import ModerationDecided  # noqa: PLC0415

        content_id = str(self.content_id)

        country = self.country

        decision: dict[str, Any] | None
        if isinstance(self.decision, ModerationDecided):
            decision = self.decision.to_dict()
        else:
            decision = self.decision

        status = self.status.value

        submitted_at = self.submitted_at.isoformat()

        text = self.text

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content_id": content_id,
                "country": country,
                "decision": decision,
                "status": status,
                "submitted_at": submitted_at,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.moderation_decided import ModerationDecided  # noqa: PLC0415

        d = dict(src_dict)
        content_id = UUID(d.pop("content_id"))

        country = d.pop("country")

        def _parse_decision(data: object) -> ModerationDecided | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                decision_type_0 = ModerationDecided.from_dict(data)

                return decision_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ModerationDecided | None, data)

        decision = _parse_decision(d.pop("decision"))

        status = ContentItemStatus(d.pop("status"))

        submitted_at = datetime.datetime.fromisoformat(d.pop("submitted_at"))

        text = d.pop("text")

        content_item = cls(
            content_id=content_id,
            country=country,
            decision=decision,
            status=status,
            submitted_at=submitted_at,
            text=text,
        )

        content_item.additional_properties = d
        return content_item

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
