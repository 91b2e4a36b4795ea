from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DeadLetterView")


@_attrs_define
class DeadLetterView:
    """A dead letter not replayed yet.

    Attributes:
        error (str): Why (field names and error types; no values, no addresses).
        group (str): The consumer group that gave up on it.
        key (str): The record's key: the id of what it carries (a job, a cart, an item).
        offset (int):
        partition (int):
    """

    error: str
    group: str
    key: str
    offset: int
    partition: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error

        group = self.group

        key = self.key

        offset = self.offset

        partition = self.partition

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "group": group,
                "key": key,
                "offset": offset,
                "partition": partition,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error = d.pop("error")

        group = d.pop("group")

        key = d.pop("key")

        offset = d.pop("offset")

        partition = d.pop("partition")

        dead_letter_view = cls(
            error=error,
            group=group,
            key=key,
            offset=offset,
            partition=partition,
        )

        dead_letter_view.additional_properties = d
        return dead_letter_view

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
