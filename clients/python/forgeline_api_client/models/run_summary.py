from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RunSummary")


@_attrs_define
class RunSummary:
    """A drill run, as the list shows it.

    Attributes:
        drill (str):
        duration_s (float):
        reason (str):
        run_id (str):
        started_at (datetime.datetime):
        status (str): starting, running, or a verdict (passed, failed, deviated, inconclusive, aborted, skipped).
    """

    drill: str
    duration_s: float
    reason: str
    run_id: str
    started_at: datetime.datetime
    status: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        drill = self.drill

        duration_s = self.duration_s

        reason = self.reason

        run_id = self.run_id

        started_at = self.started_at.isoformat()

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "drill": drill,
                "duration_s": duration_s,
                "reason": reason,
                "run_id": run_id,
                "started_at": started_at,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        drill = d.pop("drill")

        duration_s = d.pop("duration_s")

        reason = d.pop("reason")

        run_id = d.pop("run_id")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        status = d.pop("status")

        run_summary = cls(
            drill=drill,
            duration_s=duration_s,
            reason=reason,
            run_id=run_id,
            started_at=started_at,
            status=status,
        )

        run_summary.additional_properties = d
        return run_summary

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
