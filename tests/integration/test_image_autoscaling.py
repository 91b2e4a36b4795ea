"""The image deployment scales out under a burst of jobs and back in when idle (replicas from Serve)."""

import asyncio

import asyncpg
import httpx
import pytest

from forgeline.stack import Stack
from tests.integration.conftest import new_tenant
from tests.integration.images import body, serve_replicas, submit, wait_job

pytestmark = pytest.mark.integration

MODEL = "ImageModel"


def running(stack: Stack) -> int:
    return serve_replicas(stack).get(MODEL, {}).get("RUNNING", 0)


async def test_burst_scales_the_model_out_then_idle_scales_it_in(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    floor, ceiling = stack.settings.imagegen.min_replicas, stack.settings.imagegen.max_replicas
    assert ceiling > floor, "the test stack must allow scaling out"
    assert await asyncio.to_thread(running, stack) == floor

    _, key = await new_tenant(db, credits=10_000)
    jobs = [await submit(client, key, body(f"burst {i}", size=256, steps=8, seed=i)) for i in range(28)]
    peak = floor
    for _ in range(60):  # the burst keeps ~28 requests in flight: far above the target per replica
        peak = max(peak, await asyncio.to_thread(running, stack))
        if peak == ceiling:
            break
        await asyncio.sleep(1.0)
    assert peak == ceiling, f"never scaled past {peak} replica(s) under the burst"

    outcomes = [await wait_job(client, key, job_id, timeout_s=240) for job_id in jobs]
    assert {o["status"] for o in outcomes} == {"succeeded"}

    for _ in range(90):  # idle: back to the floor after the downscale delay
        if await asyncio.to_thread(running, stack) == floor:
            break
        await asyncio.sleep(1.0)
    assert await asyncio.to_thread(running, stack) == floor
