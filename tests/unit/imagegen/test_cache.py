import uuid
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from services.common.events import ImageParams
from services.imagegen.cache import CacheEntry, PromptCache, cache_key, normalise_prompt

pytestmark = pytest.mark.unit


class FakeRedis:
    """Just GET/SET, or every call failing like a Redis that is down."""

    def __init__(self, down: bool = False) -> None:
        self.data: dict[str, bytes] = {}
        self.down = down

    async def get(self, key: str) -> bytes | None:
        if self.down:
            raise RedisConnectionError("refused")
        return self.data.get(key)

    async def set(self, key: str, value: str, ex: int | None = None) -> None:
        if self.down:
            raise RedisConnectionError("refused")
        self.data[key] = value.encode()


def params(prompt: str = "A red fox", seed: int | None = 1) -> ImageParams:
    return ImageParams(prompt=prompt, width=64, height=64, steps=2, seed=seed)


def cache(redis: FakeRedis) -> PromptCache:
    fake: Any = redis
    return PromptCache(fake, ttl_s=60)


def test_normalisation_ignores_case_width_and_unicode_form() -> None:
    assert normalise_prompt("  A\u00a0Red\tFOX \n") == normalise_prompt("a red fox") == "a red fox"
    assert cache_key(params("A  red fox"), "t") == cache_key(params("a red FOX"), "t")


def test_key_depends_on_every_parameter_and_the_scope() -> None:
    base = cache_key(params(), "t")
    assert base != cache_key(params(seed=2), "t")
    assert base != cache_key(params(seed=None), "t")
    assert base != cache_key(ImageParams(prompt="A red fox", width=64, height=64, steps=3, seed=1), "t")
    assert base != cache_key(params(), "other-tenant")


async def test_private_entries_stay_with_their_tenant() -> None:
    redis = FakeRedis()
    owner, other = uuid.uuid4(), uuid.uuid4()
    await cache(redis).remember(params(), CacheEntry(object_key="k", tenant_id=owner, shared=False))
    assert (await cache(redis).find(params(), owner, share_cache=False)) is not None
    assert (await cache(redis).find(params(), other, share_cache=True)) is None


async def test_shared_entries_reach_only_sharing_tenants() -> None:
    redis = FakeRedis()
    owner, sharer, private = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await cache(redis).remember(params(), CacheEntry(object_key="k", tenant_id=owner, shared=True))
    hit = await cache(redis).find(params(), sharer, share_cache=True)
    assert hit is not None and hit.object_key == "k"
    assert (await cache(redis).find(params(), private, share_cache=False)) is None


async def test_redis_down_is_a_miss_not_an_error() -> None:
    redis = FakeRedis(down=True)
    tenant = uuid.uuid4()
    assert (await cache(redis).find(params(), tenant, share_cache=True)) is None
    assert (await cache(redis).remember(params(), CacheEntry(object_key="k", tenant_id=tenant, shared=False))) is False
