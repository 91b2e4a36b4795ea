from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.rule_match_action_type_0 import RuleMatchActionType0
from ..models.rule_match_severity import RuleMatchSeverity
from ..types import UNSET, Unset

T = TypeVar("T", bound="RuleMatch")


@_attrs_define
class RuleMatch:
    """One tier-1 rule that matched: which, its category and how severe.

    Attributes:
        category (str):
        rule (str): "term:<term>", "pattern:<name>" or "link:<domain>"; "quoted:<rule>" for a blocking rule that matched
            only inside quotation marks (a signal)
        severity (RuleMatchSeverity):
        action (None | RuleMatchActionType0 | Unset): the policy's action for the category in the item's country
    """

    category: str
    rule: str
    severity: RuleMatchSeverity
    action: None | RuleMatchActionType0 | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        category = self.category

        rule = self.rule

        severity = self.severity.value

        action: None | str | Unset
        if isinstance(self.action, Unset):
            action = UNSET
        elif isinstance(self.action, RuleMatchActionType0):
            action = self.action.value
        else:
            action = self.action

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "category": category,
                "rule": rule,
                "severity": severity,
            }
        )
        if action is not UNSET:
            field_dict["action"] = action

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        category = d.pop("category")

        rule = d.pop("rule")

        severity = RuleMatchSeverity(d.pop("severity"))

        def _parse_action(data: object) -> None | RuleMatchActionType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                action_type_0 = RuleMatchActionType0(data)

                return action_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RuleMatchActionType0 | Unset, data)

        action = _parse_action(d.pop("action", UNSET))

        rule_match = cls(
            category=category,
            rule=rule,
            severity=severity,
            action=action,
        )

        return rule_match
