from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.image_accepted_status import ImageAcceptedStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="ImageAccepted")


@_attrs_define
class ImageAccepted:
    """202 answer: the job is queued; follow it at the URLs.

    Attributes:
        events_url (str):
        job_id (UUID):
        status_url (str):
        status (ImageAcceptedStatus | Unset):  Default: ImageAcceptedStatus.QUEUED.
    """

    events_url: str
    job_id: UUID
    status_url: str
    status: ImageAcceptedStatus | Unset = ImageAcceptedStatus.QUEUED
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        events_url = self.events_url

        job_id = str(self.job_id)

        status_url = self.status_url

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "events_url": events_url,
                "job_id": job_id,
                "status_url": status_url,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        events_url = d.pop("events_url")

        job_id = UUID(d.pop("job_id"))

        status_url = d.pop("status_url")

        _status = d.pop("status", UNSET)
        status: ImageAcceptedStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = ImageAcceptedStatus(_status)

        image_accepted = cls(
            events_url=events_url,
            job_id=job_id,
            status_url=status_url,
            status=status,
        )

        image_accepted.additional_properties = d
        return image_accepted

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
