import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.common.events import ImageParams
from services.common.settings import Settings
from services.gateway.routes.images import ImageRequest, blocked_term, check_request, request_hash

pytestmark = pytest.mark.unit

SETTINGS = Settings().replace(
    imagegen={"min_side": 64, "max_side": 512, "max_steps": 50, "prompt_blocklist": ["gore", "child abuse"]}
)


def request(**changes: object) -> ImageRequest:
    return ImageRequest.model_validate({"prompt": "a fox", "width": 64, "height": 64, "steps": 4, **changes})


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"width": 65}, "must be a multiple of 8 between 64 and 512 (got 65)"),
        ({"height": 520}, "must be a multiple of 8"),
        ({"width": 56}, "must be"),
        ({"steps": 51}, "must be at most 50"),
        ({"prompt": "so much GORE"}, "blocked term 'gore'"),
        ({"prompt": "child   abuse!"}, "blocked term 'child abuse'"),
    ],
)
def test_bounds_and_guardrail_say_what_is_wrong_at_the_field(changes: dict[str, object], needle: str) -> None:
    with pytest.raises(RequestValidationError) as raised:
        check_request(request(**changes), SETTINGS)
    [problem] = raised.value.errors()
    assert problem["loc"] == ("body", next(iter(changes)))
    assert needle in problem["msg"]


def test_blocklist_matches_whole_words_only() -> None:
    assert blocked_term("gorey details", ["gore"]) is None
    assert blocked_term("the gore.", ["gore"]) == "gore"
    check_request(request(prompt="a gorey fox"), SETTINGS)  # passes: no whole blocked word


@pytest.mark.parametrize("bad", [{"prompt": ""}, {"prompt": "  "}, {"prompt": "x" * 1001}, {"seed": -1}, {"extra": 1}])
def test_model_level_validation(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        request(**bad)


def test_request_hash_tells_requests_apart() -> None:
    a = ImageParams(prompt="a", width=64, height=64, steps=2, seed=1)
    assert request_hash(a) == request_hash(a.model_copy())
    assert request_hash(a) != request_hash(a.model_copy(update={"seed": 2}))
