"""Every SQL statement about image jobs: the job rows, the tenant's credits and their ledger,
and the billing record of a delivered image. The gateway and the saga's activities reach this
data only through here.

Credit operations are idempotent by `op_key` (`image-<job>:deduct|refund`, unique in
`credit_ledger`): a retried activity returns the first outcome instead of charging again.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


class CancelRequestedError(Exception):
    """The tenant cancelled the job before it was charged."""

    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"job {job_id} was cancelled before it was charged")


class InsufficientCreditsError(Exception):
    """The tenant has fewer credits than the job costs."""

    def __init__(self, cost: int, have: int) -> None:
        super().__init__(f"not enough credits: the job costs {cost}, the tenant has {have}")
        self.cost, self.have = cost, have


# ---- the gateway's side: create and read jobs --------------------------------------------


async def insert_job(
    pool: asyncpg.Pool, job_id: uuid.UUID, tenant_id: uuid.UUID, idempotency_key: str | None, request_hash: str, params: str
) -> bool:
    """A new queued job; False when this tenant used `idempotency_key` before (nothing written)."""
    row = await pool.fetchrow(
        "INSERT INTO image_jobs (job_id, tenant_id, idempotency_key, request_hash, params) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING job_id",
        job_id,
        tenant_id,
        idempotency_key,
        request_hash,
        params,
    )
    return row is not None


async def job_by_idempotency_key(pool: asyncpg.Pool, tenant_id: uuid.UUID, idempotency_key: str | None) -> Any:
    """The job a tenant created with this key: its id, status and request hash."""
    return await pool.fetchrow(
        "SELECT job_id, status, request_hash FROM image_jobs WHERE tenant_id = $1 AND idempotency_key = $2",
        tenant_id,
        idempotency_key,
    )


async def delete_queued_job(pool: asyncpg.Pool, job_id: uuid.UUID) -> None:
    """Forget a job whose request never reached the queue (only while it is still queued)."""
    await pool.execute("DELETE FROM image_jobs WHERE job_id = $1 AND status = 'queued'", job_id)


async def tenant_job(pool: asyncpg.Pool, job_id: uuid.UUID, tenant_id: uuid.UUID) -> Any:
    """One of the tenant's jobs (the whole row), or None: another tenant's job does not exist for it."""
    return await pool.fetchrow("SELECT * FROM image_jobs WHERE job_id = $1 AND tenant_id = $2", job_id, tenant_id)


async def tenant_jobs(pool: asyncpg.Pool, tenant_id: uuid.UUID, limit: int) -> list[Any]:
    """The tenant's latest jobs, newest first (whole rows)."""
    return list(
        await pool.fetch("SELECT * FROM image_jobs WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2", tenant_id, limit)
    )


async def request_cancel(pool: asyncpg.Pool, job_id: uuid.UUID, tenant_id: uuid.UUID) -> str | None:
    """Record the owner's cancel of an unfinished job; its status then (None: no such job for
    this tenant). A finished job keeps its state and answers its final status."""
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval(
            "SELECT status FROM image_jobs WHERE job_id = $1 AND tenant_id = $2 FOR UPDATE", job_id, tenant_id
        )
        if status in ("queued", "running"):
            await conn.execute(
                "UPDATE image_jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()) WHERE job_id = $1", job_id
            )
        return str(status) if status is not None else None


# ---- the saga's side -------------------------------------------------------------------


async def mark_running(pool: asyncpg.Pool, job_id: uuid.UUID) -> None:
    """`queued` -> `running` (again is harmless; a finished job stays finished)."""
    await pool.execute(
        "UPDATE image_jobs SET status = 'running', started_at = coalesce(started_at, now()) "
        "WHERE job_id = $1 AND status IN ('queued', 'running')",
        job_id,
    )


async def shares_cache(pool: asyncpg.Pool, tenant_id: uuid.UUID) -> bool:
    """Whether the tenant takes part in the shared prompt cache."""
    return bool(await pool.fetchval("SELECT share_cache FROM tenants WHERE id = $1", tenant_id))


async def deduct(pool: asyncpg.Pool, op_key: str, tenant_id: uuid.UUID, job_id: uuid.UUID, amount: int) -> int:
    """Take `amount` credits (never below zero) once per `op_key`; the balance after.
    Raises InsufficientCreditsError when the tenant has fewer."""
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval("SELECT balance_after FROM credit_ledger WHERE op_key = $1", op_key)
        if done is not None:
            return int(done)
        # Under the job's row lock, which a cancel takes too: either the cancel is seen here and
        # nothing is charged, or the charge commits before the cancel, whose refund then sees it.
        if await conn.fetchval("SELECT cancel_requested_at FROM image_jobs WHERE job_id = $1 FOR UPDATE", job_id):
            raise CancelRequestedError(job_id)
        balance = await conn.fetchval(
            "UPDATE tenants SET credits = credits - $2 WHERE id = $1 AND credits >= $2 RETURNING credits", tenant_id, amount
        )
        if balance is None:
            have = await conn.fetchval("SELECT credits FROM tenants WHERE id = $1", tenant_id)
            raise InsufficientCreditsError(amount, int(have or 0))
        await conn.execute(
            "INSERT INTO credit_ledger (op_key, tenant_id, job_id, delta, reason, balance_after) "
            "VALUES ($1, $2, $3, $4, 'image job', $5)",
            op_key,
            tenant_id,
            job_id,
            -amount,
            balance,
        )
        await conn.execute("UPDATE image_jobs SET credits_charged = $2 WHERE job_id = $1", job_id, amount)
        return int(balance)


async def refund(pool: asyncpg.Pool, op_key: str, deduct_key: str, tenant_id: uuid.UUID, job_id: uuid.UUID) -> int:
    """Give back what the deduction `deduct_key` took, once per `op_key`; the credits returned
    (0 when it took nothing or this refund happened before)."""
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT true FROM credit_ledger WHERE op_key = $1", op_key):
            return 0
        taken = await conn.fetchval("SELECT -delta FROM credit_ledger WHERE op_key = $1", deduct_key)
        if not taken:
            return 0
        balance = await conn.fetchval(
            "UPDATE tenants SET credits = credits + $2 WHERE id = $1 RETURNING credits", tenant_id, taken
        )
        await conn.execute(
            "INSERT INTO credit_ledger (op_key, tenant_id, job_id, delta, reason, balance_after) "
            "VALUES ($1, $2, $3, $4, 'image job refund', $5)",
            op_key,
            tenant_id,
            job_id,
            taken,
            balance,
        )
        await conn.execute("UPDATE image_jobs SET credits_charged = 0 WHERE job_id = $1", job_id)
        return int(taken)


async def log_transaction(
    pool: asyncpg.Pool, job_id: uuid.UUID, tenant_id: uuid.UUID, credits: int, cached: bool, object_key: str
) -> None:
    """The billing record of a delivered image (one per job; again is a no-op)."""
    await pool.execute(
        "INSERT INTO image_transactions (job_id, tenant_id, credits, cached, object_key) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING",
        job_id,
        tenant_id,
        credits,
        cached,
        object_key,
    )


async def finish(
    pool: asyncpg.Pool, job_id: uuid.UUID, status: str, reason: str | None, cached: bool, object_key: str | None
) -> None:
    """The job's final state (its first finish time is kept)."""
    await pool.execute(
        "UPDATE image_jobs SET status = $2, reason = $3, cached = $4, object_key = $5, "
        "finished_at = coalesce(finished_at, now()), started_at = coalesce(started_at, now()) WHERE job_id = $1",
        job_id,
        status,
        reason,
        cached,
        object_key,
    )
