from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.finding_agent import FindingAgent
from ..models.finding_severity import FindingSeverity
from ..types import UNSET, Unset

T = TypeVar("T", bound="Finding")


@_attrs_define
class Finding:
    """One thing an agent noticed, on a line the pull request added or changed.

    Attributes:
        agent (FindingAgent):
        line (int): new-file line number (GitHub's `line`, `side: RIGHT`)
        message (str):
        path (str):
        rule (str): tool:code, e.g. bandit:B602, secrets:aws-access-key-id
        severity (FindingSeverity):
        suggestion (None | str | Unset):
    """

    agent: FindingAgent
    line: int
    message: str
    path: str
    rule: str
    severity: FindingSeverity
    suggestion: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        agent = self.agent.value

        line = self.line

        message = self.message

        path = self.path

        rule = self.rule

        severity = self.severity.value

        suggestion: None | str | Unset
        if isinstance(self.suggestion, Unset):
            suggestion = UNSET
        else:
            suggestion = self.suggestion

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "agent": agent,
                "line": line,
                "message": message,
                "path": path,
                "rule": rule,
                "severity": severity,
            }
        )
        if suggestion is not UNSET:
            field_dict["suggestion"] = suggestion

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        agent = FindingAgent(d.pop("agent"))

        line = d.pop("line")

        message = d.pop("message")

        path = d.pop("path")

        rule = d.pop("rule")

        severity = FindingSeverity(d.pop("severity"))

        def _parse_suggestion(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        suggestion = _parse_suggestion(d.pop("suggestion", UNSET))

        finding = cls(
            agent=agent,
            line=line,
            message=message,
            path=path,
            rule=rule,
            severity=severity,
            suggestion=suggestion,
        )

        return finding
