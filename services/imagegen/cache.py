"""The prompt cache: a normalised prompt + parameters maps to a stored PNG, in Redis with a TTL.

Entries are scoped to one tenant, or to the shared pool for tenants that opted in. A hit
never hands out another tenant's object: the saga copies the cached object into the
requesting tenant's own prefix. Redis being down means a miss (logged), never a failure.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
import uuid

from prometheus_client import Counter
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.events import ImageParams

log = logging.getLogger("forgeline.imagegen.cache")
CACHE_LOOKUPS = Counter("forgeline_image_cache_lookups_total", "Prompt-cache lookups by outcome.", ["outcome"])

SHARED_SCOPE = "shared"


class CacheEntry(BaseModel):
    """What a cache key points at."""

    object_key: str
    tenant_id: uuid.UUID
    shared: bool


def normalise_prompt(prompt: str) -> str:
    """Case, Unicode form and whitespace do not change what is drawn, so they do not split the cache."""
    text = unicodedata.normalize("NFKC", prompt).casefold()
    return re.sub(r"\s+", " ", text).strip()


def cache_key(params: ImageParams, scope: str) -> str:
    """The Redis key of a request in a scope (a tenant id, or `shared`)."""
    material = json.dumps(
        {
            "prompt": normalise_prompt(params.prompt),
            "width": params.width,
            "height": params.height,
            "steps": params.steps,
            "seed": params.seed,
        },
        sort_keys=True,
    )
    return f"imgcache:{scope}:{hashlib.sha256(material.encode()).hexdigest()}"


class PromptCache:
    """Reads and writes cache entries; every Redis error degrades to a miss."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s

    async def find(self, params: ImageParams, tenant_id: uuid.UUID, share_cache: bool) -> CacheEntry | None:
        """The tenant's own entry, else (if the tenant shares) a shared one; None on a miss."""
        scopes = [str(tenant_id), *([SHARED_SCOPE] if share_cache else [])]
        try:
            for scope in scopes:
                raw = await self._redis.get(cache_key(params, scope))
                if raw is None:
                    continue
                entry = CacheEntry.model_validate_json(raw)
                if entry.tenant_id == tenant_id or (entry.shared and share_cache):
                    CACHE_LOOKUPS.labels("hit").inc()
                    return entry
        except RedisError as error:
            CACHE_LOOKUPS.labels("bypassed").inc()
            log.warning("prompt cache bypassed, Redis unavailable: %s", type(error).__name__)
            return None
        CACHE_LOOKUPS.labels("miss").inc()
        return None

    async def remember(self, params: ImageParams, entry: CacheEntry) -> bool:
        """Store an entry in the tenant's scope (and the shared one if it shares); False if Redis is down."""
        value = entry.model_dump_json()
        try:
            await self._redis.set(cache_key(params, str(entry.tenant_id)), value, ex=self._ttl_s)
            if entry.shared:
                await self._redis.set(cache_key(params, SHARED_SCOPE), value, ex=self._ttl_s)
        except RedisError as error:
            log.warning("prompt cache not updated, Redis unavailable: %s", type(error).__name__)
            return False
        return True
