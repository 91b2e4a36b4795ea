"""The one retry/DLQ policy: pure decisions, no broker.

A failed message is retried with exponential backoff through `<topic>.retry`; after
`max_attempts` (or at once, for errors that retrying cannot fix) it goes to `<topic>.dlq`
with the error and its original headers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import asyncpg
from pydantic import ValidationError

from services.common.errors import error_reason

# Headers the policy reads and writes. Original headers are always kept alongside.
H_ATTEMPT = "x-retry-attempt"
H_NOT_BEFORE = "x-retry-not-before-ms"
H_GROUP = "x-retry-group"
H_ORIGINAL_TOPIC = "x-original-topic"
H_ORIGINAL_PARTITION = "x-original-partition"
H_ORIGINAL_OFFSET = "x-original-offset"
H_ERROR = "x-dlq-error"
H_ERROR_TYPE = "x-dlq-error-type"
H_DLQ_AT = "x-dlq-at-ms"
POLICY_HEADERS = frozenset(
    {H_ATTEMPT, H_NOT_BEFORE, H_GROUP, H_ORIGINAL_TOPIC, H_ORIGINAL_PARTITION, H_ORIGINAL_OFFSET, H_ERROR, H_ERROR_TYPE, H_DLQ_AT}
)


class PermanentError(Exception):
    """An error that retrying cannot fix (bad input, broken invariant): straight to the DLQ."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed message is retried."""

    max_attempts: int = 4
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0

    def backoff_s(self, attempt: int) -> float:
        """Delay before attempt `attempt + 1` (attempt counts from 1)."""
        return float(min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Decision:
    """What to do with a message whose handler failed."""

    action: Literal["retry", "dead_letter"]
    attempt: int  # the attempt that just failed
    delay_s: float = 0.0
    reason: str = ""


# Postgres refusing the data itself (a row naming a tenant that does not exist, a value its
# column cannot hold): the same message fails the same way every time. Not unique violations:
# two consumers racing on one key is resolved by the next attempt seeing the row.
REFUSED_DATA = (
    asyncpg.ForeignKeyViolationError,
    asyncpg.CheckViolationError,
    asyncpg.NotNullViolationError,
    asyncpg.DataError,
)


def is_permanent(error: BaseException) -> bool:
    """Errors that a retry cannot fix."""
    return isinstance(error, (PermanentError, ValidationError, UnicodeDecodeError, ValueError, *REFUSED_DATA))


def decide(policy: RetryPolicy, attempt: int, error: BaseException) -> Decision:
    """Decide between another retry and the DLQ after attempt `attempt` failed with `error`."""
    reason = error_reason(error)
    if is_permanent(error):
        return Decision("dead_letter", attempt, reason=f"permanent error: {reason}")
    if attempt >= policy.max_attempts:
        return Decision("dead_letter", attempt, reason=f"gave up after {attempt} attempts: {reason}")
    return Decision("retry", attempt, delay_s=policy.backoff_s(attempt), reason=reason)


def now_ms() -> int:
    """Wall clock in epoch milliseconds (header timestamps)."""
    return int(time.time() * 1000)


def retry_headers(
    original: dict[str, str], *, decision: Decision, group: str, topic: str, partition: int, offset: int
) -> dict[str, str]:
    """Headers for the copy of a message sent to the retry topic."""
    headers = dict(original)
    headers.setdefault(H_ORIGINAL_TOPIC, topic)
    headers.setdefault(H_ORIGINAL_PARTITION, str(partition))
    headers.setdefault(H_ORIGINAL_OFFSET, str(offset))
    headers[H_ATTEMPT] = str(decision.attempt + 1)
    headers[H_NOT_BEFORE] = str(now_ms() + int(decision.delay_s * 1000))
    headers[H_GROUP] = group
    headers[H_ERROR] = decision.reason
    return headers


def dlq_headers(
    original: dict[str, str], *, decision: Decision, error: BaseException, group: str, topic: str, partition: int, offset: int
) -> dict[str, str]:
    """Headers for the copy of a message sent to the DLQ: original headers plus the error."""
    headers = dict(original)
    headers.setdefault(H_ORIGINAL_TOPIC, topic)
    headers.setdefault(H_ORIGINAL_PARTITION, str(partition))
    headers.setdefault(H_ORIGINAL_OFFSET, str(offset))
    headers[H_ATTEMPT] = str(decision.attempt)
    headers[H_GROUP] = group
    headers[H_ERROR] = decision.reason
    headers[H_ERROR_TYPE] = type(error).__name__
    headers[H_DLQ_AT] = str(now_ms())
    headers.pop(H_NOT_BEFORE, None)
    return headers
