from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ClassifierScores")


@_attrs_define
class ClassifierScores:
    """Tier 2's class probabilities for one text (the head's bias set back to the data's class shares).

    Attributes:
        hate (float):
        neither (float):
        offensive (float):
    """

    hate: float
    neither: float
    offensive: float

    def to_dict(self) -> dict[str, Any]:
        hate = self.hate

        neither = self.neither

        offensive = self.offensive

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "hate": hate,
                "neither": neither,
                "offensive": offensive,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        hate = d.pop("hate")

        neither = d.pop("neither")

        offensive = d.pop("offensive")

        classifier_scores = cls(
            hate=hate,
            neither=neither,
            offensive=offensive,
        )

        return classifier_scores
