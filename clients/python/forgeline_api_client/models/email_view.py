from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.email_view_status import EmailViewStatus

if TYPE_CHECKING:
    from ..models.email_view_stage_ms import EmailViewStageMs


T = TypeVar("T", bound="EmailView")


@_attrs_define
class EmailView:
    """One cart's email: sent, or why not. The recipient's address is never returned.

    Attributes:
        cart_id (str):
        created_at (datetime.datetime):
        failed_checks (list[str]): The guardrails the generated email failed (when it fell back).
        fallback (bool): The safe fallback went out instead of the generated email.
        html (str): The HTML part as composed (for suppressed or capped carts: what would have gone out).
        sent_at (datetime.datetime | None):
        stage_ms (EmailViewStageMs): Milliseconds in each composition stage.
        status (EmailViewStatus): `sending`: handed to SMTP, not confirmed yet; `suppressed`/`capped`: not sent, and
            why.
        subject (str):
        template_id (str):
        user_id (str):
    """

    cart_id: str
    created_at: datetime.datetime
    failed_checks: list[str]
    fallback: bool
    html: str
    sent_at: datetime.datetime | None
    stage_ms: EmailViewStageMs
    status: EmailViewStatus
    subject: str
    template_id: str
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cart_id = self.cart_id

        created_at = self.created_at.isoformat()

        failed_checks = self.failed_checks

        fallback = self.fallback

        html = self.html

        sent_at: None | str
        if isinstance(self.sent_at, datetime.datetime):
            sent_at = self.sent_at.isoformat()
        else:
            sent_at = self.sent_at

        stage_ms = self.stage_ms.to_dict()

        status = self.status.value

        subject = self.subject

        template_id = self.template_id

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cart_id": cart_id,
                "created_at": created_at,
                "failed_checks": failed_checks,
                "fallback": fallback,
                "html": html,
                "sent_at": sent_at,
                "stage_ms": stage_ms,
                "status": status,
                "subject": subject,
                "template_id": template_id,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.email_view_stage_ms import EmailViewStageMs  # noqa: PLC0415

        d = dict(src_dict)
        cart_id = d.pop("cart_id")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        failed_checks = cast(list[str], d.pop("failed_checks"))

        fallback = d.pop("fallback")

        html = d.pop("html")

        def _parse_sent_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                sent_at_type_0 = datetime.datetime.fromisoformat(data)

                return sent_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        sent_at = _parse_sent_at(d.pop("sent_at"))

        stage_ms = EmailViewStageMs.from_dict(d.pop("stage_ms"))

        status = EmailViewStatus(d.pop("status"))

        subject = d.pop("subject")

        template_id = d.pop("template_id")

        user_id = d.pop("user_id")

        email_view = cls(
            cart_id=cart_id,
            created_at=created_at,
            failed_checks=failed_checks,
            fallback=fallback,
            html=html,
            sent_at=sent_at,
            stage_ms=stage_ms,
            status=status,
            subject=subject,
            template_id=template_id,
            user_id=user_id,
        )

        email_view.additional_properties = d
        return email_view

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
