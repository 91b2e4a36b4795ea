from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.drill_summary_pipelines import DrillSummaryPipelines
    from ..models.fault_summary import FaultSummary


T = TypeVar("T", bound="DrillSummary")


@_attrs_define
class DrillSummary:
    """One drill file, as the catalogue lists it.

    Attributes:
        chaos_mesh (None | str): The same drill as a Chaos Mesh Workflow for a cluster; null when none of its faults
            renders there.
        duration_s (float):
        invariants (list[str]):
        method (list[FaultSummary]):
        name (str):
        pipelines (DrillSummaryPipelines): Requests per second the drill's load sends to each pipeline.
        proves (str):
        smoke (bool):
        tags (list[str]):
    """

    chaos_mesh: None | str
    duration_s: float
    invariants: list[str]
    method: list[FaultSummary]
    name: str
    pipelines: DrillSummaryPipelines
    proves: str
    smoke: bool
    tags: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        chaos_mesh: None | str
        chaos_mesh = self.chaos_mesh

        duration_s = self.duration_s

        invariants = self.invariants

        method = []
        for method_item_data in self.method:
            method_item = method_item_data.to_dict()
            method.append(method_item)

        name = self.name

        pipelines = self.pipelines.to_dict()

        proves = self.proves

        smoke = self.smoke

        tags = self.tags

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "chaos_mesh": chaos_mesh,
                "duration_s": duration_s,
                "invariants": invariants,
                "method": method,
                "name": name,
                "pipelines": pipelines,
                "proves": proves,
                "smoke": smoke,
                "tags": tags,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.drill_summary_pipelines import DrillSummaryPipelines  # noqa: PLC0415
        from ..models.fault_summary import FaultSummary  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_chaos_mesh(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        chaos_mesh = _parse_chaos_mesh(d.pop("chaos_mesh"))

        duration_s = d.pop("duration_s")

        invariants = cast(list[str], d.pop("invariants"))

        method = []
        _method = d.pop("method")
        for method_item_data in _method:
            method_item = FaultSummary.from_dict(method_item_data)

            method.append(method_item)

        name = d.pop("name")

        pipelines = DrillSummaryPipelines.from_dict(d.pop("pipelines"))

        proves = d.pop("proves")

        smoke = d.pop("smoke")

        tags = cast(list[str], d.pop("tags"))

        drill_summary = cls(
            chaos_mesh=chaos_mesh,
            duration_s=duration_s,
            invariants=invariants,
            method=method,
            name=name,
            pipelines=pipelines,
            proves=proves,
            smoke=smoke,
            tags=tags,
        )

        drill_summary.additional_properties = d
        return drill_summary

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
