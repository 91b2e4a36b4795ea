"""How the tools read the generated client's answers."""

from http import HTTPStatus

import pytest
from forgeline_api_client.models import Accepted, ErrorBody
from forgeline_api_client.types import Response

from forgeline.api import GatewayError, expect, refusal

pytestmark = pytest.mark.unit

ECHO_ID = "6f1c2a52-3c1e-4a39-9d7b-0b0c9a8d1e77"


def answer(status: int, parsed: object) -> Response[object]:
    return Response(status_code=HTTPStatus(status), content=b"<html>proxy error</html>", headers={}, parsed=parsed)


def test_expect_returns_the_parsed_body_of_a_2xx() -> None:
    accepted = Accepted.from_dict({"echo_id": ECHO_ID, "events_url": "/v1/events", "status_url": f"/v1/echo/{ECHO_ID}"})
    assert expect(answer(202, accepted)) is accepted


def test_expect_raises_with_the_reason_of_an_error_body() -> None:
    with pytest.raises(GatewayError) as refused:
        expect(answer(429, ErrorBody(error="rate_limited", message="slow down; retry after 1 s")))
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert "retry after 1 s" in str(refused.value)


def test_expect_raises_on_an_answer_it_could_not_parse() -> None:
    with pytest.raises(GatewayError, match="502 unexpected: <html>proxy error"):
        expect(answer(502, None))


def test_refusal_insists_on_an_error_body() -> None:
    assert refusal(answer(422, ErrorBody(error="invalid", message="message: must not be blank"))).error == "invalid"
    with pytest.raises(GatewayError):
        refusal(answer(202, object()))
