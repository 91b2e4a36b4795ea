from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ImageRequest")


@_attrs_define
class ImageRequest:
    """Body of `POST /v1/images`. Sizes are multiples of 8 within the configured bounds.

    Attributes:
        height (int): Pixels, a multiple of 8.
        prompt (str): What to draw (1 to 1,000 characters).
        steps (int): Denoising steps.
        width (int): Pixels, a multiple of 8.
        seed (int | None | Unset): Fix for a repeatable image; null for a random one.
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

        image_request = cls(
            height=height,
            prompt=prompt,
            steps=steps,
            width=width,
            seed=seed,
        )

        return image_request
