from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from services.gateway.ratelimit import LocalBuckets, RateLimiter

pytestmark = pytest.mark.unit


def test_local_bucket_allows_the_burst_then_says_when_to_retry() -> None:
    buckets = LocalBuckets(rate=2.0, burst=3)
    assert [buckets.take("t", now=100.0).allowed for _ in range(4)] == [True, True, True, False]
    refused = buckets.take("t", now=100.0)
    assert refused.retry_after_s == pytest.approx(0.5)
    assert buckets.take("t", now=100.5).allowed  # one token back after 1/rate seconds
    assert buckets.take("other", now=100.5).allowed  # buckets are per key


class DownRedis:
    def __init__(self) -> None:
        self.calls = 0

    def register_script(self, script: str) -> Any:
        async def run(keys: list[str], args: list[object]) -> Any:
            self.calls += 1
            raise RedisConnectionError("refused")

        return run


async def test_redis_down_falls_back_to_the_local_bucket_and_backs_off() -> None:
    redis = DownRedis()
    fake: Any = redis
    limiter = RateLimiter(fake, rate=1.0, burst=2)
    decisions = [await limiter.check("t") for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert redis.calls == 1  # after one failure Redis is left alone for a while
