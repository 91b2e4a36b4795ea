from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.review_decision_decision import ReviewDecisionDecision
from ..models.review_decision_lane import ReviewDecisionLane
from ..types import UNSET, Unset

T = TypeVar("T", bound="ReviewDecision")


@_attrs_define
class ReviewDecision:
    """A reviewer's decision on a claimed item.

    Attributes:
        decision (ReviewDecisionDecision):
        reason (str):
        lane (ReviewDecisionLane | Unset):  Default: ReviewDecisionLane.REVIEW.
    """

    decision: ReviewDecisionDecision
    reason: str
    lane: ReviewDecisionLane | Unset = ReviewDecisionLane.REVIEW

    def to_dict(self) -> dict[str, Any]:
        decision = self.decision.value

        reason = self.reason

        lane: str | Unset = UNSET
        if not isinstance(self.lane, Unset):
            lane = self.lane.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "decision": decision,
                "reason": reason,
            }
        )
        if lane is not UNSET:
            field_dict["lane"] = lane

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        decision = ReviewDecisionDecision(d.pop("decision"))

        reason = d.pop("reason")

        _lane = d.pop("lane", UNSET)
        lane: ReviewDecisionLane | Unset
        if isinstance(_lane, Unset):
            lane = UNSET
        else:
            lane = ReviewDecisionLane(_lane)

        review_decision = cls(
            decision=decision,
            reason=reason,
            lane=lane,
        )

        return review_decision
