from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.code_review_view_status import CodeReviewViewStatus

if TYPE_CHECKING:
    from ..models.agent_report_view import AgentReportView


T = TypeVar("T", bound="CodeReviewView")


@_attrs_define
class CodeReviewView:
    """One review run: a pull request at one head SHA.

    Attributes:
        agents (list[str]): The agents the plan asked for.
        author (str):
        head_sha (str):
        number (int):
        posted_at (datetime.datetime | None):
        ready_at (datetime.datetime | None):
        repo (str):
        reports (list[AgentReportView]):
        requested_at (datetime.datetime):
        review_event (None | str): COMMENT or REQUEST_CHANGES, once posted.
        review_id (int | None): The review's id at GitHub, once posted.
        status (CodeReviewViewStatus):
        title (str):
    """

    agents: list[str]
    author: str
    head_sha: str
    number: int
    posted_at: datetime.datetime | None
    ready_at: datetime.datetime | None
    repo: str
    reports: list[AgentReportView]
    requested_at: datetime.datetime
    review_event: None | str
    review_id: int | None
    status: CodeReviewViewStatus
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        agents = self.agents

        author = self.author

        head_sha = self.head_sha

        number = self.number

        posted_at: None | str
        if isinstance(self.posted_at, datetime.datetime):
            posted_at = self.posted_at.isoformat()
        else:
            posted_at = self.posted_at

        ready_at: None | str
        if isinstance(self.ready_at, datetime.datetime):
            ready_at = self.ready_at.isoformat()
        else:
            ready_at = self.ready_at

        repo = self.repo

        reports = []
        for reports_item_data in self.reports:
            reports_item = reports_item_data.to_dict()
            reports.append(reports_item)

        requested_at = self.requested_at.isoformat()

        review_event: None | str
        review_event = self.review_event

        review_id: int | None
        review_id = self.review_id

        status = self.status.value

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "agents": agents,
                "author": author,
                "head_sha": head_sha,
                "number": number,
                "posted_at": posted_at,
                "ready_at": ready_at,
                "repo": repo,
                "reports": reports,
                "requested_at": requested_at,
                "review_event": review_event,
                "review_id": review_id,
                "status": status,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.agent_report_view import AgentReportView  # noqa: PLC0415

        d = dict(src_dict)
        agents = cast(list[str], d.pop("agents"))

        author = d.pop("author")

        head_sha = d.pop("head_sha")

        number = d.pop("number")

        def _parse_posted_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                posted_at_type_0 = datetime.datetime.fromisoformat(data)

                return posted_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        posted_at = _parse_posted_at(d.pop("posted_at"))

        def _parse_ready_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ready_at_type_0 = datetime.datetime.fromisoformat(data)

                return ready_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        ready_at = _parse_ready_at(d.pop("ready_at"))

        repo = d.pop("repo")

        reports = []
        _reports = d.pop("reports")
        for reports_item_data in _reports:
            reports_item = AgentReportView.from_dict(reports_item_data)

            reports.append(reports_item)

        requested_at = datetime.datetime.fromisoformat(d.pop("requested_at"))

        def _parse_review_event(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        review_event = _parse_review_event(d.pop("review_event"))

        def _parse_review_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        review_id = _parse_review_id(d.pop("review_id"))

        status = CodeReviewViewStatus(d.pop("status"))

        title = d.pop("title")

        code_review_view = cls(
            agents=agents,
            author=author,
            head_sha=head_sha,
            number=number,
            posted_at=posted_at,
            ready_at=ready_at,
            repo=repo,
            reports=reports,
            requested_at=requested_at,
            review_event=review_event,
            review_id=review_id,
            status=status,
            title=title,
        )

        code_review_view.additional_properties = d
        return code_review_view

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
