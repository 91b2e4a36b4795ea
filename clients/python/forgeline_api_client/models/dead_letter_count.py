from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DeadLetterCount")


@_attrs_define
class DeadLetterCount:
    """The dead letters of one consumed topic.

    Attributes:
        topic (str): The source topic; its dead letters are in `<topic>.dlq`.
        total (int): Dead letters the DLQ topic holds.
        waiting (int): Dead letters not replayed yet.
    """

    topic: str
    total: int
    waiting: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        topic = self.topic

        total = self.total

        waiting = self.waiting

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "topic": topic,
                "total": total,
                "waiting": waiting,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        topic = d.pop("topic")

        total = d.pop("total")

        waiting = d.pop("waiting")

        dead_letter_count = cls(
            topic=topic,
            total=total,
            waiting=waiting,
        )

        dead_letter_count.additional_properties = d
        return dead_letter_count

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
