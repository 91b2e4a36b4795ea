from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.content_view_decision_type_0 import ContentViewDecisionType0
from ..models.content_view_status import ContentViewStatus

if TYPE_CHECKING:
    from ..models.moderation_decided import ModerationDecided


T = TypeVar("T", bound="ContentView")


@_attrs_define
class ContentView:
    """An item, its current decision and the audit trail of every decision.

    Attributes:
        appealed (bool):
        content_id (UUID):
        country (str):
        decision (ContentViewDecisionType0 | None):
        history (list[ModerationDecided]):
        policy_version (None | str):
        reasons (list[str]):
        status (ContentViewStatus):
        tier (None | str):
    """

    appealed: bool
    content_id: UUID
    country: str
    decision: ContentViewDecisionType0 | None
    history: list[ModerationDecided]
    policy_version: None | str
    reasons: list[str]
    status: ContentViewStatus
    tier: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        appealed = self.appealed

        content_id = str(self.content_id)

        country = self.country

        decision: None | str
        if isinstance(self.decision, ContentViewDecisionType0):
            decision = self.decision.value
        else:
            decision = self.decision

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)

        policy_version: None | str
        policy_version = self.policy_version

        reasons = self.reasons

        status = self.status.value

        tier: None | str
        tier = self.tier

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "appealed": appealed,
                "content_id": content_id,
                "country": country,
                "decision": decision,
                "history": history,
                "policy_version": policy_version,
                "reasons": reasons,
                "status": status,
                "tier": tier,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.moderation_decided import ModerationDecided  # noqa: PLC0415

        d = dict(src_dict)
        appealed = d.pop("appealed")

        content_id = UUID(d.pop("content_id"))

        country = d.pop("country")

        def _parse_decision(data: object) -> ContentViewDecisionType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decision_type_0 = ContentViewDecisionType0(data)

                return decision_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ContentViewDecisionType0 | None, data)

        decision = _parse_decision(d.pop("decision"))

        history = []
        _history = d.pop("history")
        for history_item_data in _history:
            history_item = ModerationDecided.from_dict(history_item_data)

            history.append(history_item)

        def _parse_policy_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        policy_version = _parse_policy_version(d.pop("policy_version"))

        reasons = cast(list[str], d.pop("reasons"))

        status = ContentViewStatus(d.pop("status"))

        def _parse_tier(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        tier = _parse_tier(d.pop("tier"))

        content_view = cls(
            appealed=appealed,
            content_id=content_id,
            country=country,
            decision=decision,
            history=history,
            policy_version=policy_version,
            reasons=reasons,
            status=status,
            tier=tier,
        )

        content_view.additional_properties = d
        return content_view

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
