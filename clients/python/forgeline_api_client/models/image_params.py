from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ImageParams")


@_attrs_define
class ImageParams:
    """What to draw: the part of an image request the model and the prompt cache see.

    Attributes:
        height (int):
        prompt (str):
        steps (int):
        width (int):
        seed (int | None | Unset):
    """

    height: int
    prompt: str
    steps: int
    width: int
    seed: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        height = self.height

        prompt = self.prompt

        steps = self.steps

        width = self.width

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "height": height,
                "prompt": prompt,
                "steps": steps,
                "width": width,
            }
        )
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        height = d.pop("height")

        prompt = d.pop("prompt")

        steps = d.pop("steps")

        width = d.pop("width")

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        image_params = cls(
            height=height,
            prompt=prompt,
            steps=steps,
            width=width,
            seed=seed,
        )

        return image_params
