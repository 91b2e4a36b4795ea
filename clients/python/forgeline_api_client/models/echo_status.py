from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.echo_status_status import EchoStatusStatus

T = TypeVar("T", bound="EchoStatus")


@_attrs_define
class EchoStatus:
    """State of one echo round trip: `queued` until the echo consumer has written it.

    Attributes:
        echo_id (UUID):
        processed_at (None | str):
        processed_by (None | str):
        status (EchoStatusStatus):
    """

    echo_id: UUID
    processed_at: None | str
    processed_by: None | str
    status: EchoStatusStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        echo_id = str(self.echo_id)

        processed_at: None | str
        processed_at = self.processed_at

        processed_by: None | str
        processed_by = self.processed_by

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "echo_id": echo_id,
                "processed_at": processed_at,
                "processed_by": processed_by,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        echo_id = UUID(d.pop("echo_id"))

        def _parse_processed_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        processed_at = _parse_processed_at(d.pop("processed_at"))

        def _parse_processed_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        processed_by = _parse_processed_by(d.pop("processed_by"))

        status = EchoStatusStatus(d.pop("status"))

        echo_status = cls(
            echo_id=echo_id,
            processed_at=processed_at,
            processed_by=processed_by,
            status=status,
        )

        echo_status.additional_properties = d
        return echo_status

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
