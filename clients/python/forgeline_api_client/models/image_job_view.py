from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.image_job_view_status import ImageJobViewStatus

if TYPE_CHECKING:
    from ..models.image_params import ImageParams


T = TypeVar("T", bound="ImageJobView")


@_attrs_define
class ImageJobView:
    """State of one image job.

    Attributes:
        cached (bool):
        cancel_requested (bool): The tenant asked to cancel it; it ends `cancelled` unless it was already stored.
        created_at (datetime.datetime):
        credits_charged (int):
        finished_at (datetime.datetime | None):
        image_url (None | str): Presigned S3 URL of the PNG (succeeded jobs only); it expires.
        image_url_expires_in_s (int | None):
        job_id (UUID):
        params (ImageParams): What to draw: the part of an image request the model and the prompt cache see.
        queued_ms (int | None): From submission to the saga starting.
        reason (None | str):
        run_ms (int | None): From the saga starting to the final state.
        started_at (datetime.datetime | None):
        status (ImageJobViewStatus):
    """

    cached: bool
    cancel_requested: bool
    created_at: datetime.datetime
    credits_charged: int
    finished_at: datetime.datetime | None
    image_url: None | str
    image_url_expires_in_s: int | None
    job_id: UUID
    params: ImageParams
    queued_ms: int | None
    reason: None | str
    run_ms: int | None
    started_at: datetime.datetime | None
    status: ImageJobViewStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cached = self.cached

        cancel_requested = self.cancel_requested

        created_at = self.created_at.isoformat()

        credits_charged = self.credits_charged

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        image_url: None | str
        image_url = self.image_url

        image_url_expires_in_s: int | None
        image_url_expires_in_s = self.image_url_expires_in_s

        job_id = str(self.job_id)

        params = self.params.to_dict()

        queued_ms: int | None
        queued_ms = self.queued_ms

        reason: None | str
        reason = self.reason

        run_ms: int | None
        run_ms = self.run_ms

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cached": cached,
                "cancel_requested": cancel_requested,
                "created_at": created_at,
                "credits_charged": credits_charged,
                "finished_at": finished_at,
                "image_url": image_url,
                "image_url_expires_in_s": image_url_expires_in_s,
                "job_id": job_id,
                "params": params,
                "queued_ms": queued_ms,
                "reason": reason,
                "run_ms": run_ms,
                "started_at": started_at,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.image_params import ImageParams  # noqa: PLC0415

        d = dict(src_dict)
        cached = d.pop("cached")

        cancel_requested = d.pop("cancel_requested")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        credits_charged = d.pop("credits_charged")

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        def _parse_image_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        image_url = _parse_image_url(d.pop("image_url"))

        def _parse_image_url_expires_in_s(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        image_url_expires_in_s = _parse_image_url_expires_in_s(d.pop("image_url_expires_in_s"))

        job_id = UUID(d.pop("job_id"))

        params = ImageParams.from_dict(d.pop("params"))

        def _parse_queued_ms(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        queued_ms = _parse_queued_ms(d.pop("queued_ms"))

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        def _parse_run_ms(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        run_ms = _parse_run_ms(d.pop("run_ms"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        status = ImageJobViewStatus(d.pop("status"))

        image_job_view = cls(
            cached=cached,
            cancel_requested=cancel_requested,
            created_at=created_at,
            credits_charged=credits_charged,
            finished_at=finished_at,
            image_url=image_url,
            image_url_expires_in_s=image_url_expires_in_s,
            job_id=job_id,
            params=params,
            queued_ms=queued_ms,
            reason=reason,
            run_ms=run_ms,
            started_at=started_at,
            status=status,
        )

        image_job_view.additional_properties = d
        return image_job_view

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
