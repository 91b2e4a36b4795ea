from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.queue_item_lane import QueueItemLane

if TYPE_CHECKING:
    from ..models.queue_item_evidence import QueueItemEvidence


T = TypeVar("T", bound="QueueItem")


@_attrs_define
class QueueItem:
    """One item waiting for a reviewer, with what the tiers found.

    Attributes:
        content_id (UUID):
        country (str):
        enqueued_at (str):
        evidence (QueueItemEvidence):
        lane (QueueItemLane):
        links (list[str]):
        reason (str):
        text (str):
    """

    content_id: UUID
    country: str
    enqueued_at: str
    evidence: QueueItemEvidence
    lane: QueueItemLane
    links: list[str]
    reason: str
    text: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        content_id = str(self.content_id)

        country = self.country

        enqueued_at = self.enqueued_at

        evidence = self.evidence.to_dict()

        lane = self.lane.value

        links = self.links

        reason = self.reason

        text = self.text

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "content_id": content_id,
                "country": country,
                "enqueued_at": enqueued_at,
                "evidence": evidence,
                "lane": lane,
                "links": links,
                "reason": reason,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.queue_item_evidence import QueueItemEvidence  # noqa: PLC0415

        d = dict(src_dict)
        content_id = UUID(d.pop("content_id"))

        country = d.pop("country")

        enqueued_at = d.pop("enqueued_at")

        evidence = QueueItemEvidence.from_dict(d.pop("evidence"))

        lane = QueueItemLane(d.pop("lane"))

        links = cast(list[str], d.pop("links"))

        reason = d.pop("reason")

        text = d.pop("text")

        queue_item = cls(
            content_id=content_id,
            country=country,
            enqueued_at=enqueued_at,
            evidence=evidence,
            lane=lane,
            links=links,
            reason=reason,
            text=text,
        )

        queue_item.additional_properties = d
        return queue_item

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
