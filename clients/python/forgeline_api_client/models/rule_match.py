from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.rule_match_severity import RuleMatchSeverity

T = TypeVar("T", bound="RuleMatch")


@_attrs_define
class RuleMatch:
    """One tier-1 rule that matched: which, its category and how severe.

    Attributes:
        category (str):
        rule (str): "term:<term>", "pattern:<name>" or "link:<domain>"; "quoted:<rule>" for a blocking rule that matched
            only inside quotation marks (a signal)
        severity (RuleMatchSeverity):
    """

    category: str
    rule: str
    severity: RuleMatchSeverity

    def to_dict(self) -> dict[str, Any]:
        category = self.category

        rule = self.rule

        severity = self.severity.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "category": category,
                "rule": rule,
                "severity": severity,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        category = d.pop("category")

        rule = d.pop("rule")

        severity = RuleMatchSeverity(d.pop("severity"))

        rule_match = cls(
            category=category,
            rule=rule,
            severity=severity,
        )

        return rule_match
