from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define

from ..models.content_request_country import ContentRequestCountry
from ..types import UNSET, Unset

T = TypeVar("T", bound="ContentRequest")


@_attrs_define
class ContentRequest:
    """An item to moderate; give your own `content_id` to make retries idempotent.

    Attributes:
        author_id (str):
        country (ContentRequestCountry): ISO 3166-1 alpha-2; the policy must cover it
        text (str):
        content_id (UUID | Unset):
        lang (str | Unset):  Default: 'en'.
        links (list[str] | Unset):
    """

    author_id: str
    country: ContentRequestCountry
    text: str
    content_id: UUID | Unset = UNSET
    lang: str | Unset = "en"
    links: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        author_id = self.author_id

        country = self.country.value

        text = self.text

        content_id: str | Unset = UNSET
        if not isinstance(self.content_id, Unset):
            content_id = str(self.content_id)

        lang = self.lang

        links: list[str] | Unset = UNSET
        if not isinstance(self.links, Unset):
            links = self.links

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "author_id": author_id,
                "country": country,
                "text": text,
            }
        )
        if content_id is not UNSET:
            field_dict["content_id"] = content_id
        if lang is not UNSET:
            field_dict["lang"] = lang
        if links is not UNSET:
            field_dict["links"] = links

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        author_id = d.pop("author_id")

        country = ContentRequestCountry(d.pop("country"))

        text = d.pop("text")

        _content_id = d.pop("content_id", UNSET)
        content_id: UUID | Unset
        if isinstance(_content_id, Unset):
            content_id = UNSET
        else:
            content_id = UUID(_content_id)

        lang = d.pop("lang", UNSET)

        links = cast(list[str], d.pop("links", UNSET))

        content_request = cls(
            author_id=author_id,
            country=country,
            text=text,
            content_id=content_id,
            lang=lang,
            links=links,
        )

        return content_request
