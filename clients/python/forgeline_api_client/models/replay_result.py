from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dead_letter_view import DeadLetterView


T = TypeVar("T", bound="ReplayResult")


@_attrs_define
class ReplayResult:
    """What a replay sent back through the topic's retry topic.

    Attributes:
        replayed (list[DeadLetterView]):
        topic (str):
    """

    replayed: list[DeadLetterView]
    topic: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        replayed = []
        for replayed_item_data in self.replayed:
            replayed_item = replayed_item_data.to_dict()
            replayed.append(replayed_item)

        topic = self.topic

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "replayed": replayed,
                "topic": topic,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.dead_letter_view import DeadLetterView  # noqa: PLC0415

        d = dict(src_dict)
        replayed = []
        _replayed = d.pop("replayed")
        for replayed_item_data in _replayed:
            replayed_item = DeadLetterView.from_dict(replayed_item_data)

            replayed.append(replayed_item)

        topic = d.pop("topic")

        replay_result = cls(
            replayed=replayed,
            topic=topic,
        )

        replay_result.additional_properties = d
        return replay_result

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
