import asyncio
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


class BucketRedis:
    """The Lua token bucket's arithmetic in Python, answering slowly like a network round trip."""

    def __init__(self, burst: int) -> None:
        self.tokens = burst
        self.wanted: list[int] = []

    def register_script(self, script: str) -> Any:
        async def run(keys: list[str], args: list[object]) -> Any:
            wanted = int(str(args[3]))
            self.wanted.append(wanted)
            await asyncio.sleep(0.01)
            granted = min(wanted, self.tokens)
            self.tokens -= granted
            return [granted, "0.5" if granted < wanted else "0"]

        return run


async def test_checks_arriving_during_a_redis_call_share_the_next_one_and_stay_exact() -> None:
    redis = BucketRedis(burst=3)
    fake: Any = redis
    limiter = RateLimiter(fake, rate=2.0, burst=3)
    decisions = await asyncio.gather(*(limiter.check("t") for _ in range(6)))
    assert redis.wanted == [1, 5]  # the first check's call, then one call for the five that waited
    assert [d.allowed for d in decisions] == [True, True, True, False, False, False]
    assert decisions[-1].retry_after_s == pytest.approx(0.5)
    assert (await limiter.check("t")).allowed is False  # the bucket is shared, nothing leaked
    assert redis.wanted[-1] == 1


async def test_a_failed_redis_call_fails_every_check_that_waited_on_it() -> None:
    class Broken:
        def register_script(self, script: str) -> Any:
            async def run(keys: list[str], args: list[object]) -> Any:
                await asyncio.sleep(0.01)
                raise ValueError("bad reply")

            return run

    fake: Any = Broken()
    limiter = RateLimiter(fake, rate=2.0, burst=3)
    results = await asyncio.gather(*(limiter.check("t") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert not limiter._waiting  # nothing left behind for the next check
