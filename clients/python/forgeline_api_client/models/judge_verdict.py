from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.judge_verdict_decision import JudgeVerdictDecision
from ..models.judge_verdict_severity import JudgeVerdictSeverity

T = TypeVar("T", bound="JudgeVerdict")


@_attrs_define
class JudgeVerdict:
    """Tier 3's structured answer (the JSON schema the LLM must follow).

    Attributes:
        confidence (float):
        decision (JudgeVerdictDecision):
        policy_clause (str): the policy category a rejection rests on (hate, threat, ...); none for an approval
        rationale (str):
        severity (JudgeVerdictSeverity):
    """

    confidence: float
    decision: JudgeVerdictDecision
    policy_clause: str
    rationale: str
    severity: JudgeVerdictSeverity

    def to_dict(self) -> dict[str, Any]:
        confidence = self.confidence

        decision = self.decision.value

        policy_clause = self.policy_clause

        rationale = self.rationale

        severity = self.severity.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "confidence": confidence,
                "decision": decision,
                "policy_clause": policy_clause,
                "rationale": rationale,
                "severity": severity,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        confidence = d.pop("confidence")

        decision = JudgeVerdictDecision(d.pop("decision"))

        policy_clause = d.pop("policy_clause")

        rationale = d.pop("rationale")

        severity = JudgeVerdictSeverity(d.pop("severity"))

        judge_verdict = cls(
            confidence=confidence,
            decision=decision,
            policy_clause=policy_clause,
            rationale=rationale,
            severity=severity,
        )

        return judge_verdict
