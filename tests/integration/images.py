"""Helpers for the image-job tests: submit through the gateway, wait for an outcome, inspect."""

import asyncio
import os
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import httpx

from forgeline.stack import Stack

FINAL = {"succeeded", "failed", "rejected", "cancelled"}


def body(prompt: str = "a lighthouse at dusk", size: int = 64, steps: int = 2, seed: int | None = 1) -> dict[str, Any]:
    return {"prompt": prompt, "width": size, "height": size, "steps": steps, "seed": seed}


async def submit(client: httpx.AsyncClient, key: str, payload: dict[str, Any], **headers: str) -> str:
    response = await client.post("/v1/images", json=payload, headers={"Authorization": f"Bearer {key}", **headers})
    assert response.status_code == 202, response.text
    return str(response.json()["job_id"])


async def wait_job(client: httpx.AsyncClient, key: str, job_id: str, timeout_s: float = 90.0) -> dict[str, Any]:
    """Poll the job until it reaches a final state."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get(f"/v1/images/{job_id}", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in FINAL:
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s}s")
        await asyncio.sleep(0.2)


async def wait_status(db: asyncpg.Pool, job_id: str, status: str, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while await db.fetchval("SELECT status FROM image_jobs WHERE job_id = $1", uuid.UUID(job_id)) != status:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} never reached {status}")
        await asyncio.sleep(0.1)


async def credits(db: asyncpg.Pool, tenant_id: uuid.UUID) -> int:
    return int(await db.fetchval("SELECT credits FROM tenants WHERE id = $1", tenant_id))


async def ledger(db: asyncpg.Pool, job_id: str) -> list[str]:
    """The job's credit movements, as op-key suffixes (`deduct`, `refund`)."""
    rows = await db.fetch("SELECT op_key FROM credit_ledger WHERE job_id = $1 ORDER BY id", uuid.UUID(job_id))
    return [r["op_key"].rsplit(":", 1)[1] for r in rows]


def tenant_objects(stack: Stack, tenant_id: uuid.UUID) -> list[str]:
    """Every S3 key under the tenant's prefix."""
    s3 = stack.s3_client()
    listing = s3.list_objects_v2(Bucket=stack.settings.endpoints.s3_bucket, Prefix=f"tenants/{tenant_id}/")
    return [o["Key"] for o in listing.get("Contents", [])]


def serve_replicas(stack: Stack) -> dict[str, dict[str, int]]:
    """Replica counts by state, read from Serve (through the deploy module, as an operator would)."""
    import json

    result = subprocess.run(
        [sys.executable, "-m", "services.imagegen.deploy", "--status"],
        env={**os.environ, **stack.endpoints_env()},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    replicas: dict[str, dict[str, int]] = json.loads(result.stdout.strip().splitlines()[-1])
    return replicas
