from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Accepted")


@_attrs_define
class Accepted:
    """202 answer: the work is queued; follow it at the URLs.

    Attributes:
        echo_id (UUID):
        events_url (str):
        status_url (str):
        status (Literal['queued'] | Unset):  Default: 'queued'.
    """

    echo_id: UUID
    events_url: str
    status_url: str
    status: Literal["queued"] | Unset = "queued"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        echo_id = str(self.echo_id)

        events_url = self.events_url

        status_url = self.status_url

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "echo_id": echo_id,
                "events_url": events_url,
                "status_url": status_url,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        echo_id = UUID(d.pop("echo_id"))

        events_url = d.pop("events_url")

        status_url = d.pop("status_url")

        status = cast(Literal["queued"] | Unset, d.pop("status", UNSET))
        if status != "queued" and not isinstance(status, Unset):
            raise ValueError(f"status must match const 'queued', got '{status}'")

        accepted = cls(
            echo_id=echo_id,
            events_url=events_url,
            status_url=status_url,
            status=status,
        )

        accepted.additional_properties = d
        return accepted

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
