from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="BatchAccepted")


@_attrs_define
class BatchAccepted:
    """202 for a batch, ids in submission order.

    Attributes:
        content_ids (list[UUID]):
        status (str | Unset):  Default: 'pending'.
    """

    content_ids: list[UUID]
    status: str | Unset = "pending"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        content_ids = []
        for content_ids_item_data in self.content_ids:
            content_ids_item = str(content_ids_item_data)
            content_ids.append(content_ids_item)

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content_ids": content_ids,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        content_ids = []
        _content_ids = d.pop("content_ids")
        for content_ids_item_data in _content_ids:
            content_ids_item = UUID(content_ids_item_data)

            content_ids.append(content_ids_item)

        status = d.pop("status", UNSET)

        batch_accepted = cls(
            content_ids=content_ids,
            status=status,
        )

        batch_accepted.additional_properties = d
        return batch_accepted

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
