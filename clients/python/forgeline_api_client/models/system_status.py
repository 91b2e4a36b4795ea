from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dead_letter_count import DeadLetterCount
    from ..models.group_lag import GroupLag
    from ..models.part_health import PartHealth
    from ..models.server_error import ServerError


T = TypeVar("T", bound="SystemStatus")


@_attrs_define
class SystemStatus:
    """The platform at a glance.

    Attributes:
        consumers (list[GroupLag]):
        dead_letters (list[DeadLetterCount]):
        errors (list[ServerError]): This replica's latest 5xx answers, newest first (kept in memory).
        kafka_error (None | str): Why lag and dead letters could not be read, when they could not.
        parts (list[PartHealth]):
        read_at (datetime.datetime):
    """

    consumers: list[GroupLag]
    dead_letters: list[DeadLetterCount]
    errors: list[ServerError]
    kafka_error: None | str
    parts: list[PartHealth]
    read_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consumers = []
        for consumers_item_data in self.consumers:
            consumers_item = consumers_item_data.to_dict()
            consumers.append(consumers_item)

        dead_letters = []
        for dead_letters_item_data in self.dead_letters:
            dead_letters_item = dead_letters_item_data.to_dict()
            dead_letters.append(dead_letters_item)

        errors = []
        for errors_item_data in self.errors:
            errors_item = errors_item_data.to_dict()
            errors.append(errors_item)

        kafka_error: None | str
        kafka_error = self.kafka_error

        parts = []
        for parts_item_data in self.parts:
            parts_item = parts_item_data.to_dict()
            parts.append(parts_item)

        read_at = self.read_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consumers": consumers,
                "dead_letters": dead_letters,
                "errors": errors,
                "kafka_error": kafka_error,
                "parts": parts,
                "read_at": read_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.dead_letter_count import DeadLetterCount  # noqa: PLC0415
        from ..models.group_lag import GroupLag  # noqa: PLC0415
        from ..models.part_health import PartHealth  # noqa: PLC0415
        from ..models.server_error import ServerError  # noqa: PLC0415

        d = dict(src_dict)
        consumers = []
        _consumers = d.pop("consumers")
        for consumers_item_data in _consumers:
            consumers_item = GroupLag.from_dict(consumers_item_data)

            consumers.append(consumers_item)

        dead_letters = []
        _dead_letters = d.pop("dead_letters")
        for dead_letters_item_data in _dead_letters:
            dead_letters_item = DeadLetterCount.from_dict(dead_letters_item_data)

            dead_letters.append(dead_letters_item)

        errors = []
        _errors = d.pop("errors")
        for errors_item_data in _errors:
            errors_item = ServerError.from_dict(errors_item_data)

            errors.append(errors_item)

        def _parse_kafka_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        kafka_error = _parse_kafka_error(d.pop("kafka_error"))

        parts = []
        _parts = d.pop("parts")
        for parts_item_data in _parts:
            parts_item = PartHealth.from_dict(parts_item_data)

            parts.append(parts_item)

        read_at = datetime.datetime.fromisoformat(d.pop("read_at"))

        system_status = cls(
            consumers=consumers,
            dead_letters=dead_letters,
            errors=errors,
            kafka_error=kafka_error,
            parts=parts,
            read_at=read_at,
        )

        system_status.additional_properties = d
        return system_status

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
