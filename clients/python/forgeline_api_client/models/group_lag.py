from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GroupLag")


@_attrs_define
class GroupLag:
    """How far one consumer group is behind on one topic (its retry topic counted apart).

    Attributes:
        group (str):
        lag (int): Records the group has not committed yet.
        service (str):
        topic (str):
    """

    group: str
    lag: int
    service: str
    topic: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        group = self.group

        lag = self.lag

        service = self.service

        topic = self.topic

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "group": group,
                "lag": lag,
                "service": service,
                "topic": topic,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        group = d.pop("group")

        lag = d.pop("lag")

        service = d.pop("service")

        topic = d.pop("topic")

        group_lag = cls(
            group=group,
            lag=lag,
            service=service,
            topic=topic,
        )

        group_lag.additional_properties = d
        return group_lag

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
