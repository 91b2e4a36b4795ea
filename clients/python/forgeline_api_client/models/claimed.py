from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.claimed_lane import ClaimedLane

T = TypeVar("T", bound="Claimed")


@_attrs_define
class Claimed:
    """The claim and when it lapses.

    Attributes:
        claimed_until (str):
        content_id (UUID):
        lane (ClaimedLane):
    """

    claimed_until: str
    content_id: UUID
    lane: ClaimedLane
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        claimed_until = self.claimed_until

        content_id = str(self.content_id)

        lane = self.lane.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "claimed_until": claimed_until,
                "content_id": content_id,
                "lane": lane,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        claimed_until = d.pop("claimed_until")

        content_id = UUID(d.pop("content_id"))

        lane = ClaimedLane(d.pop("lane"))

        claimed = cls(
            claimed_until=claimed_until,
            content_id=content_id,
            lane=lane,
        )

        claimed.additional_properties = d
        return claimed

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
