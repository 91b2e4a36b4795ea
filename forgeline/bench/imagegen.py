"""`forgeline bench imagegen`: image job intake, latency, bursts and Serve batching on the local stack."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

from forgeline.bench.harness import UNLIMITED, bench_stack, gateway_load, latency_ms
from forgeline.demos.narrate import Say
from forgeline.stack import Stack
from services.common.settings import Settings


def imagegen(settings: Settings, *, accept_requests: int, jobs: int, burst: int, progress: Say) -> dict[str, Any]:
    """`forgeline bench imagegen`: intake, job latency (fresh and cached), saga rate, batching gain."""
    result: dict[str, Any] = {"model": "tiny random pipeline (forgeline models tiny-sd)"}
    with bench_stack(UNLIMITED, progress) as stack:
        progress("1/6 forgeline up (fresh home) ...")
        state = stack.up()
        result.update(asyncio.run(_imagegen_runs(stack, state, accept_requests, jobs, burst, progress)))
    return result


JOB = {"width": 128, "height": 128, "steps": 4}


async def _imagegen_runs(
    stack: Stack, state: dict[str, Any], accept_requests: int, jobs: int, burst: int, progress: Say
) -> dict[str, Any]:
    import asyncpg
    import httpx

    from services.gateway.tenants import create_tenant

    env = stack.endpoints_env()
    gateway = state["components"]["gateway"]["endpoint"]
    pool = await asyncpg.create_pool(env["DATABASE_URL"], min_size=1, max_size=4)
    assert pool is not None
    out: dict[str, Any] = {}
    try:
        tenant, key = await create_tenant(pool, f"bench-{uuid.uuid4().hex[:6]}", 10**9)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=60) as client:
            progress(f"2/6 accept: {accept_requests} POST /v1/images, each a new prompt (no cache hits) ...")
            run = uuid.uuid4().hex[:6]
            out["accept"] = await gateway_load(
                gateway,
                key,
                accept_requests,
                connections=16,
                path="/v1/images",
                payload=lambda n: {"prompt": f"bench accept {run} {n}", **JOB},
            )
            out["accept"]["prompts"] = "distinct: every request a new prompt"
            await _drained(pool, tenant.id)
            progress(f"3/6 end-to-end: {jobs} jobs one after another, new prompts ...")
            fresh = [await _one_job(client, pool, f"bench fresh {i} {uuid.uuid4().hex[:6]}") for i in range(jobs)]
            out["job_latency"] = _spread(fresh, "fresh prompt, 128 px, 4 steps, tiny model")
            progress(f"4/6 cached: {jobs} repeats of a stored prompt ...")
            cached = [await _one_job(client, pool, "bench fresh 0 repeat") for _ in range(jobs + 1)][1:]
            out["cached_hit_latency"] = _spread(cached, "repeat of a stored prompt (no GPU work)")
            progress(f"5/6 burst: {burst} jobs at once, new prompts ...")
            out["burst"] = await _burst(client, pool, burst)
        progress("6/6 Ray Serve: the same deployment with and without @serve.batch ...")
        out["batching"] = await _batching(stack.settings.serve_base_url)
    finally:
        await pool.close()
    return out


async def _drained(pool: Any, tenant_id: uuid.UUID, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    query = "SELECT count(*) FROM image_jobs WHERE tenant_id = $1 AND status IN ('queued', 'running')"
    while await pool.fetchval(query, tenant_id):
        if time.monotonic() > deadline:
            raise TimeoutError("image jobs did not drain")
        await asyncio.sleep(0.5)


async def _one_job(client: Any, pool: Any, prompt: str) -> float:
    """Submit one job, wait for it, return created -> finished in seconds (server timestamps)."""
    job_id = (await client.post("/v1/images", json={"prompt": prompt, **JOB, "seed": 3})).json()["job_id"]
    query = "SELECT extract(epoch FROM finished_at - created_at) FROM image_jobs WHERE job_id = $1 AND finished_at IS NOT NULL"
    while (seconds := await pool.fetchval(query, uuid.UUID(job_id))) is None:
        await asyncio.sleep(0.02)
    return float(seconds)


def _spread(seconds: list[float], what: str) -> dict[str, Any]:
    return {"what": what, "jobs": len(seconds), **latency_ms(seconds)}


async def _burst(client: Any, pool: Any, count: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    ids = await asyncio.gather(
        *(client.post("/v1/images", json={"prompt": f"burst {tag} {i}", **JOB, "seed": i}) for i in range(count))
    )
    job_ids = [uuid.UUID(r.json()["job_id"]) for r in ids]
    query = (
        "SELECT count(*) FILTER (WHERE finished_at IS NULL), min(created_at), max(finished_at) "
        "FROM image_jobs WHERE job_id = ANY($1)"
    )
    while True:
        pending, first, last = await pool.fetchrow(query, job_ids)
        if not pending:
            break
        await asyncio.sleep(0.25)
    statuses = await pool.fetch("SELECT status, count(*) AS n FROM image_jobs WHERE job_id = ANY($1) GROUP BY status", job_ids)
    seconds = (last - first).total_seconds()
    return {
        "jobs": count,
        "seconds": round(seconds, 1),
        "sagas_per_s": round(count / seconds, 2),
        "statuses": {r["status"]: r["n"] for r in statuses},
    }


async def _batching(serve_url: str, concurrency: int = 16, rounds: int = 4) -> dict[str, Any]:
    """Same deployment, same load: `@serve.batch` path vs the unbatched method (through Serve's HTTP proxy)."""
    import httpx

    async def run(batched: bool) -> dict[str, float]:
        remaining, batches = [concurrency * rounds], []

        async def worker(client: httpx.AsyncClient) -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                response = await client.post(
                    f"{serve_url}/imagegen/generate",
                    params={"batch": str(batched).lower()},
                    json={"prompt": "batching", **JOB, "seed": 1},
                )
                response.raise_for_status()
                batches.append(int(response.headers["x-batch-size"]))

        async with httpx.AsyncClient(timeout=300) as client:
            started = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        return {"images_per_s": round(concurrency * rounds / elapsed, 2), "mean_batch": round(statistics.mean(batches), 2)}

    await run(True)  # warm-up
    unbatched = await run(False)
    batched = await run(True)
    return {
        "concurrency": concurrency,
        "batched": batched,
        "unbatched": unbatched,
        "ratio": round(batched["images_per_s"] / unbatched["images_per_s"], 2),
    }
