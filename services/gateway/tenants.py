"""Tenants and API keys. Keys are random and shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Literal

import asyncpg
from pydantic import BaseModel

Role = Literal["tenant", "reviewer", "admin"]
KEY_PREFIX = "fl_"


class Tenant(BaseModel):
    """An authenticated caller."""

    id: uuid.UUID
    name: str
    role: Role
    credits: int


def generate_api_key() -> str:
    """A new API key (256 bits of randomness)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """SHA-256 hex of a key. Keys are high-entropy random strings, so no salt or KDF is needed."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_tenant(
    conn: asyncpg.Connection | asyncpg.Pool, name: str, credits: int, role: Role = "tenant"
) -> tuple[Tenant, str]:
    """Create a tenant; return it with its API key (the only time the key is seen)."""
    key = generate_api_key()
    row = await conn.fetchrow(
        "INSERT INTO tenants (id, name, api_key_hash, api_key_prefix, role, credits) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, name, role, credits",
        uuid.uuid4(),
        name,
        hash_api_key(key),
        key[:8],
        role,
        credits,
    )
    assert row is not None
    return Tenant(**dict(row)), key


async def rotate_api_key(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> str | None:
    """Give an existing tenant a new key (the old one stops working); None if no such tenant."""
    key = generate_api_key()
    updated = await conn.fetchval(
        "UPDATE tenants SET api_key_hash = $2, api_key_prefix = $3 WHERE name = $1 RETURNING true",
        name,
        hash_api_key(key),
        key[:8],
    )
    return key if updated else None


class TenantDirectory:
    """Looks tenants up by API key, with a short in-process cache (auth on every request)."""

    def __init__(self, pool: asyncpg.Pool, ttl_s: float) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Tenant | None]] = {}

    async def by_api_key(self, key: str) -> Tenant | None:
        """The tenant owning `key`, or None."""
        digest = hash_api_key(key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = await self._pool.fetchrow("SELECT id, name, role, credits FROM tenants WHERE api_key_hash = $1", digest)
        tenant = Tenant(**dict(row)) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl_s, tenant)
        return tenant

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        """Fresh tenant record (balance included), bypassing the cache."""
        row = await self._pool.fetchrow("SELECT id, name, role, credits FROM tenants WHERE id = $1", tenant_id)
        return Tenant(**dict(row)) if row else None
