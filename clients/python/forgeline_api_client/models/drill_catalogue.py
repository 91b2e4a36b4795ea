from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.drill_summary import DrillSummary
    from ..models.run_summary import RunSummary


T = TypeVar("T", bound="DrillCatalogue")


@_attrs_define
class DrillCatalogue:
    """The drills and their latest runs.

    Attributes:
        drills (list[DrillSummary]):
        runs (list[RunSummary]): The latest runs, newest first.
        runs_here (bool): Whether drills can be started from here (the local stack).
        why_not (None | str): What to do instead, when they cannot.
    """

    drills: list[DrillSummary]
    runs: list[RunSummary]
    runs_here: bool
    why_not: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        drills = []
        for drills_item_data in self.drills:
            drills_item = drills_item_data.to_dict()
            drills.append(drills_item)

        runs = []
        for runs_item_data in self.runs:
            runs_item = runs_item_data.to_dict()
            runs.append(runs_item)

        runs_here = self.runs_here

        why_not: None | str
        why_not = self.why_not

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "drills": drills,
                "runs": runs,
                "runs_here": runs_here,
                "why_not": why_not,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.drill_summary import DrillSummary  # noqa: PLC0415
        from ..models.run_summary import RunSummary  # noqa: PLC0415

        d = dict(src_dict)
        drills = []
        _drills = d.pop("drills")
        for drills_item_data in _drills:
            drills_item = DrillSummary.from_dict(drills_item_data)

            drills.append(drills_item)

        runs = []
        _runs = d.pop("runs")
        for runs_item_data in _runs:
            runs_item = RunSummary.from_dict(runs_item_data)

            runs.append(runs_item)

        runs_here = d.pop("runs_here")

        def _parse_why_not(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        why_not = _parse_why_not(d.pop("why_not"))

        drill_catalogue = cls(
            drills=drills,
            runs=runs,
            runs_here=runs_here,
            why_not=why_not,
        )

        drill_catalogue.additional_properties = d
        return drill_catalogue

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
