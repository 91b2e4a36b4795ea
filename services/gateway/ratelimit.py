"""Per-tenant rate limiting: a token bucket in Redis, so every gateway replica shares it.

When Redis is unreachable the limiter keeps working per replica (an in-process bucket) and
tries Redis again after a pause: a Redis outage never turns into 5xx at the gateway.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("forgeline.gateway.ratelimit")
REDIS_RETRY_AFTER_S = 5.0

# KEYS[1] bucket; ARGV rate/s, burst, now (s). Returns {allowed, seconds until a token}.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait)}
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

    async def check(self, tenant_key: str) -> RateDecision:
        """Take one token from the tenant's bucket (Redis, or this replica's while Redis is down)."""
        now = time.time()
        if now >= self._redis_down_until:
            try:
                allowed, wait = await self._script(keys=[f"ratelimit:{tenant_key}"], args=[self._rate, self._burst, now])
                return RateDecision(bool(int(allowed)), float(wait))
            except RedisError as error:
                self._redis_down_until = now + REDIS_RETRY_AFTER_S
                log.warning(
                    "rate limiting per replica for %.0fs, Redis unavailable: %s", REDIS_RETRY_AFTER_S, type(error).__name__
                )
        return self._local.take(tenant_key, now)
