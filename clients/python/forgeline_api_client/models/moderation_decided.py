from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..models.moderation_decided_decision import ModerationDecidedDecision
from ..models.moderation_decided_tier import ModerationDecidedTier
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.classifier_scores import ClassifierScores
    from ..models.judge_verdict import JudgeVerdict
    from ..models.rule_match import RuleMatch


T = TypeVar("T", bound="ModerationDecided")


@_attrs_define
class ModerationDecided:
    """A final decision; an appeal's outcome supersedes the original (`supersedes`).

    Attributes:
        content_id (UUID):
        country (str):
        decided_by (str):
        decision (ModerationDecidedDecision):
        policy_version (str):
        reasons (list[str]):
        tenant_id (UUID):
        tier (ModerationDecidedTier):
        category (None | str | Unset): the policy category a rejection rests on (a rule's, hate for the classifier, the
            judge's clause)
        decision_id (UUID | Unset):
        event_id (UUID | Unset): Unique id; consumers de-duplicate on it.
        labels (list[str] | Unset): categories of an approved item whose policy action is label
        occurred_at (datetime.datetime | Unset):
        rule_matches (list[RuleMatch] | Unset):
        schema_version (int | Unset):  Default: 1.
        scores (ClassifierScores | None | Unset):
        supersedes (None | Unset | UUID):
        verdict (JudgeVerdict | None | Unset):
    """

    content_id: UUID
    country: str
    decided_by: str
    decision: ModerationDecidedDecision
    policy_version: str
    reasons: list[str]
    tenant_id: UUID
    tier: ModerationDecidedTier
    category: None | str | Unset = UNSET
    decision_id: UUID | Unset = UNSET
    event_id: UUID | Unset = UNSET
    labels: list[str] | Unset = UNSET
    occurred_at: datetime.datetime | Unset = UNSET
    rule_matches: list[RuleMatch] | Unset = UNSET
    schema_version: int | Unset = 1
    scores: ClassifierScores | None | Unset = UNSET
    supersedes: None | Unset | UUID = UNSET
    verdict: JudgeVerdict | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.classifier_scores import ClassifierScores  # noqa: PLC0415
        from ..models.judge_verdict import JudgeVerdict  # noqa: PLC0415

        content_id = str(self.content_id)

        country = self.country

        decided_by = self.decided_by

        decision = self.decision.value

        policy_version = self.policy_version

        reasons = self.reasons

        tenant_id = str(self.tenant_id)

        tier = self.tier.value

        category: None | str | Unset
        if isinstance(self.category, Unset):
            category = UNSET
        else:
            category = self.category

        decision_id: str | Unset = UNSET
        if not isinstance(self.decision_id, Unset):
            decision_id = str(self.decision_id)

        event_id: str | Unset = UNSET
        if not isinstance(self.event_id, Unset):
            event_id = str(self.event_id)

        labels: list[str] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels

        occurred_at: str | Unset = UNSET
        if not isinstance(self.occurred_at, Unset):
            occurred_at = self.occurred_at.isoformat()

        rule_matches: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.rule_matches, Unset):
            rule_matches = []
            for rule_matches_item_data in self.rule_matches:
                rule_matches_item = rule_matches_item_data.to_dict()
                rule_matches.append(rule_matches_item)

        schema_version = self.schema_version

        scores: dict[str, Any] | None | Unset
        if isinstance(self.scores, Unset):
            scores = UNSET
        elif isinstance(self.scores, ClassifierScores):
            scores = self.scores.to_dict()
        else:
            scores = self.scores

        supersedes: None | str | Unset
        if isinstance(self.supersedes, Unset):
            supersedes = UNSET
        elif isinstance(self.supersedes, UUID):
            supersedes = str(self.supersedes)
        else:
            supersedes = self.supersedes

        verdict: dict[str, Any] | None | Unset
        if isinstance(self.verdict, Unset):
            verdict = UNSET
        elif isinstance(self.verdict, JudgeVerdict):
            verdict = self.verdict.to_dict()
        else:
            verdict = self.verdict

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content_id": content_id,
                "country": country,
                "decided_by": decided_by,
                "decision": decision,
                "policy_version": policy_version,
                "reasons": reasons,
                "tenant_id": tenant_id,
                "tier": tier,
            }
        )
        if category is not UNSET:
            field_dict["category"] = category
        if decision_id is not UNSET:
            field_dict["decision_id"] = decision_id
        if event_id is not UNSET:
            field_dict["event_id"] = event_id
        if labels is not UNSET:
            field_dict["labels"] = labels
        if occurred_at is not UNSET:
            field_dict["occurred_at"] = occurred_at
        if rule_matches is not UNSET:
            field_dict["rule_matches"] = rule_matches
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if scores is not UNSET:
            field_dict["scores"] = scores
        if supersedes is not UNSET:
            field_dict["supersedes"] = supersedes
        if verdict is not UNSET:
            field_dict["verdict"] = verdict

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.classifier_scores import ClassifierScores  # noqa: PLC0415
        from ..models.judge_verdict import JudgeVerdict  # noqa: PLC0415
        from ..models.rule_match import RuleMatch  # noqa: PLC0415

        d = dict(src_dict)
        content_id = UUID(d.pop("content_id"))

        country = d.pop("country")

        decided_by = d.pop("decided_by")

        decision = ModerationDecidedDecision(d.pop("decision"))

        policy_version = d.pop("policy_version")

        reasons = cast(list[str], d.pop("reasons"))

        tenant_id = UUID(d.pop("tenant_id"))

        tier = ModerationDecidedTier(d.pop("tier"))

        def _parse_category(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        category = _parse_category(d.pop("category", UNSET))

        _decision_id = d.pop("decision_id", UNSET)
        decision_id: UUID | Unset
        if isinstance(_decision_id, Unset):
            decision_id = UNSET
        else:
            decision_id = UUID(_decision_id)

        _event_id = d.pop("event_id", UNSET)
        event_id: UUID | Unset
        if isinstance(_event_id, Unset):
            event_id = UNSET
        else:
            event_id = UUID(_event_id)

        labels = cast(list[str], d.pop("labels", UNSET))

        _occurred_at = d.pop("occurred_at", UNSET)
        occurred_at: datetime.datetime | Unset
        if isinstance(_occurred_at, Unset):
            occurred_at = UNSET
        else:
            occurred_at = datetime.datetime.fromisoformat(_occurred_at)

        _rule_matches = d.pop("rule_matches", UNSET)
        rule_matches: list[RuleMatch] | Unset = UNSET
        if _rule_matches is not UNSET:
            rule_matches = []
            for rule_matches_item_data in _rule_matches:
                rule_matches_item = RuleMatch.from_dict(rule_matches_item_data)

                rule_matches.append(rule_matches_item)

        schema_version = d.pop("schema_version", UNSET)

        def _parse_scores(data: object) -> ClassifierScores | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                scores_type_0 = ClassifierScores.from_dict(data)

                return scores_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ClassifierScores | None | Unset, data)

        scores = _parse_scores(d.pop("scores", UNSET))

        def _parse_supersedes(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                supersedes_type_0 = UUID(data)

                return supersedes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        supersedes = _parse_supersedes(d.pop("supersedes", UNSET))

        def _parse_verdict(data: object) -> JudgeVerdict | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                verdict_type_0 = JudgeVerdict.from_dict(data)

                return verdict_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JudgeVerdict | None | Unset, data)

        verdict = _parse_verdict(d.pop("verdict", UNSET))

        moderation_decided = cls(
            content_id=content_id,
            country=country,
            decided_by=decided_by,
            decision=decision,
            policy_version=policy_version,
            reasons=reasons,
            tenant_id=tenant_id,
            tier=tier,
            category=category,
            decision_id=decision_id,
            event_id=event_id,
            labels=labels,
            occurred_at=occurred_at,
            rule_matches=rule_matches,
            schema_version=schema_version,
            scores=scores,
            supersedes=supersedes,
            verdict=verdict,
        )

        return moderation_decided
