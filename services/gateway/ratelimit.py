"""Per-tenant rate limiting: a token bucket in Redis, so every gateway replica shares it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

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


class RateLimiter:
    """Token bucket per tenant: `rate` requests/s sustained, `burst` at once."""

    def __init__(self, redis: Redis, rate: float, burst: int) -> None:
        self._redis = redis
        self._rate = rate
        self._burst = burst
        self._script = redis.register_script(_TOKEN_BUCKET)

    async def check(self, tenant_key: str) -> RateDecision:
        """Take one token from the tenant's bucket."""
        allowed, wait = await self._script(keys=[f"ratelimit:{tenant_key}"], args=[self._rate, self._burst, time.time()])
        return RateDecision(bool(int(allowed)), float(wait))
