import pytest
from pydantic import BaseModel, ValidationError

from services.common.faults import InjectedFaultError
from services.common.retry import (
    H_ATTEMPT,
    H_ERROR,
    H_ERROR_TYPE,
    H_NOT_BEFORE,
    H_ORIGINAL_TOPIC,
    PermanentError,
    RetryPolicy,
    decide,
    dlq_headers,
    now_ms,
    retry_headers,
)

pytestmark = pytest.mark.unit
POLICY = RetryPolicy(max_attempts=3, backoff_initial_s=0.5, backoff_max_s=1.5)


def test_transient_errors_retry_with_growing_capped_backoff() -> None:
    first = decide(POLICY, 1, InjectedFaultError("boom"))
    second = decide(POLICY, 2, TimeoutError())
    assert (first.action, first.delay_s) == ("retry", 0.5)
    assert (second.action, second.delay_s) == ("retry", 1.0)
    assert RetryPolicy(10, 0.5, 1.5).backoff_s(8) == 1.5


def test_gives_up_after_max_attempts() -> None:
    decision = decide(POLICY, 3, ConnectionError("down"))
    assert decision.action == "dead_letter"
    assert "after 3 attempts" in decision.reason


def test_permanent_errors_go_straight_to_dlq() -> None:
    class M(BaseModel):
        x: int

    with pytest.raises(ValidationError) as bad:
        M.model_validate({"x": "nope"})
    for error in (PermanentError("bad"), bad.value):
        assert decide(POLICY, 1, error).action == "dead_letter"


def test_retry_headers_keep_originals_and_count_attempts() -> None:
    decision = decide(POLICY, 1, InjectedFaultError("boom"))
    headers = retry_headers({"traceparent": "t"}, decision=decision, group="g", topic="a", partition=1, offset=7)
    assert headers["traceparent"] == "t"
    assert headers[H_ATTEMPT] == "2"
    assert headers[H_ORIGINAL_TOPIC] == "a"
    assert int(headers[H_NOT_BEFORE]) >= now_ms() + 400


def test_dlq_headers_carry_the_error_and_original_headers() -> None:
    error = InjectedFaultError("boom")
    headers = dlq_headers(
        {"traceparent": "t", H_NOT_BEFORE: "1"},
        decision=decide(POLICY, 3, error),
        error=error,
        group="g",
        topic="a",
        partition=0,
        offset=3,
    )
    assert headers["traceparent"] == "t"
    assert H_NOT_BEFORE not in headers
    assert headers[H_ERROR_TYPE] == "InjectedFaultError"
    assert "boom" in headers[H_ERROR]
    assert headers[H_ATTEMPT] == "3"


def test_a_dead_letters_reason_names_fields_but_quotes_no_values_or_addresses() -> None:
    class Mail(BaseModel):
        to: int

    with pytest.raises(ValidationError) as invalid:
        Mail.model_validate({"to": "ann@example.com"})
    reason = decide(POLICY, 1, invalid.value).reason
    assert reason.startswith("permanent error: ValidationError: to: ") and "ann@" not in reason
    refused = decide(POLICY, 1, ConnectionError("550 <bob.smith+x@mail.example.org>: mailbox unavailable")).reason
    assert "bob" not in refused and "<<address>>: mailbox unavailable" in refused


def test_data_postgres_refuses_is_dead_lettered_at_once_but_a_race_on_a_key_is_retried() -> None:
    import asyncpg

    refused = decide(POLICY, 1, asyncpg.ForeignKeyViolationError("insert violates foreign key constraint"))
    assert refused.action == "dead_letter" and refused.reason.startswith("permanent error: ForeignKeyViolationError")
    assert decide(POLICY, 1, asyncpg.UniqueViolationError("duplicate key")).action == "retry"
