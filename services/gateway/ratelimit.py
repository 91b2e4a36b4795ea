"""Per-tenant rate limiting: a token bucket in Redis, so every gateway replica shares it.

Checks of one tenant that arrive while its Redis call is in flight wait for the next call,
which takes tokens for all of them at once: exact (no tokens leased to a replica and lost),
and under load one Redis round trip serves many requests.

When Redis is unreachable the limiter keeps working per replica (an in-process bucket) and
tries Redis again after a pause: a Redis outage never turns into 5xx at the gateway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("forgeline.gateway.ratelimit")
REDIS_RETRY_AFTER_S = 5.0
# Redis gone: a connection reset mid-write surfaces as asyncio's RuntimeError ("the handler is
# closed") from redis-py's writer, not as its ConnectionError (seen in the Redis partition drill).
REDIS_DOWN = (RedisError, RuntimeError)

# KEYS[1] bucket; ARGV rate/s, burst, now (s), wanted. Returns {granted (the first `granted`
# of the wanted requests go ahead), seconds until the next token for the rest}.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
local wait = 0
if granted < wanted then
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {granted, tostring(wait)}
"""


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may go ahead, and if not, when to retry."""

    allowed: bool
    retry_after_s: float


@dataclass
class LocalBuckets:
    """The same token bucket in process memory (used while Redis is unreachable)."""

    rate: float
    burst: int
    state: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, timestamp)

    def take(self, key: str, now: float) -> RateDecision:
        """Take one token from `key`'s bucket."""
        tokens, ts = self.state.get(key, (float(self.burst), now))
        tokens = min(self.burst, tokens + max(0.0, now - ts) * self.rate)
        if tokens >= 1:
            self.state[key] = (tokens - 1, now)
            return RateDecision(True, 0.0)
        self.state[key] = (tokens, now)
        return RateDecision(False, (1 - tokens) / self.rate)


class RateLimiter:
    """Token bucket per tenant: `rate` requests/s sustained, `burst` at once."""

    def __init__(self, redis: Redis, rate: float, burst: int) -> None:
        self._redis = redis
        self._rate = rate
        self._burst = burst
        self._script = redis.register_script(_TOKEN_BUCKET)
        self._local = LocalBuckets(rate, burst)
        self._redis_down_until = 0.0
        # Per tenant with a Redis call in flight: the checks waiting for the next call.
        self._waiting: dict[str, list[asyncio.Future[RateDecision]]] = {}
        self._callers: set[asyncio.Task[None]] = set()

    async def check(self, tenant_key: str) -> RateDecision:
        """Take one token from the tenant's bucket (Redis, or this replica's while Redis is down)."""
        now = time.time()
        if now < self._redis_down_until:
            return self._local.take(tenant_key, now)
        decision: asyncio.Future[RateDecision] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.get(tenant_key)
        if waiting is not None:
            waiting.append(decision)
        else:
            self._waiting[tenant_key] = []
            caller = asyncio.create_task(self._take_for(tenant_key, [decision]))
            self._callers.add(caller)  # the loop keeps only weak references to tasks
            caller.add_done_callback(self._callers.discard)
        return await decision

    async def _take_for(self, tenant_key: str, batch: list[asyncio.Future[RateDecision]]) -> None:
        """One Redis call per batch of waiting checks, until none is left waiting."""
        try:
            while batch:
                try:
                    decisions = await self._take(tenant_key, len(batch))
                except Exception as error:  # each waiting request fails as its own call would have
                    for future in batch:
                        if not future.done():
                            future.set_exception(error)
                else:
                    for future, decision in zip(batch, decisions, strict=True):
                        if not future.done():  # a client that hung up cancelled its check
                            future.set_result(decision)
                batch, self._waiting[tenant_key] = self._waiting[tenant_key], []
        finally:
            del self._waiting[tenant_key]

    async def _take(self, tenant_key: str, wanted: int) -> list[RateDecision]:
        now = time.time()
        if now >= self._redis_down_until:
            try:
                granted, wait = await self._script(keys=[f"ratelimit:{tenant_key}"], args=[self._rate, self._burst, now, wanted])
                refused = RateDecision(False, float(wait))
                return [RateDecision(True, 0.0)] * int(granted) + [refused] * (wanted - int(granted))
            except REDIS_DOWN as error:
                self._redis_down_until = now + REDIS_RETRY_AFTER_S
                log.warning(
                    "rate limiting per replica for %.0fs, Redis unavailable: %s", REDIS_RETRY_AFTER_S, type(error).__name__
                )
        return [self._local.take(tenant_key, now) for _ in range(wanted)]
