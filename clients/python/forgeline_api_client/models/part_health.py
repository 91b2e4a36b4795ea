from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.part_health_checks import PartHealthChecks


T = TypeVar("T", bound="PartHealth")


@_attrs_define
class PartHealth:
    """One part's answer to `GET /readyz`.

    Attributes:
        checks (PartHealthChecks): Each dependency the part checks: `ok`, or why not.
        name (str):
        ready (bool):
        detail (None | str | Unset): Why the part did not answer, when it did not.
    """

    checks: PartHealthChecks
    name: str
    ready: bool
    detail: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        checks = self.checks.to_dict()

        name = self.name

        ready = self.ready

        detail: None | str | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        else:
            detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "checks": checks,
                "name": name,
                "ready": ready,
            }
        )
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.part_health_checks import PartHealthChecks  # noqa: PLC0415

        d = dict(src_dict)
        checks = PartHealthChecks.from_dict(d.pop("checks"))

        name = d.pop("name")

        ready = d.pop("ready")

        def _parse_detail(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

        part_health = cls(
            checks=checks,
            name=name,
            ready=ready,
            detail=detail,
        )

        part_health.additional_properties = d
        return part_health

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
