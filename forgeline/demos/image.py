"""The image demo: jobs through the saga, a cache hit, and a failure that compensates."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from forgeline_api_client import AuthenticatedClient
from forgeline_api_client.api.images import get_image, submit_image
from forgeline_api_client.api.tenants import get_me
from forgeline_api_client.models import ImageJobView, ImageRequest

from forgeline.api import expect, gateway_client, server_sent_events
from forgeline.demos.narrate import Say, gateway_and_key
from services.common.settings import Settings

FAULT_MARK = "fault-demo"


async def image(settings: Settings, state: dict[str, Any], say: Say, timeout_s: float = 120.0) -> bool:
    """Image jobs: three prompts, a repeat served from the cache, one saga compensated on purpose."""
    gateway, key = gateway_and_key(state, say)
    if not gateway or not key:
        return False
    faults = Path(state.get("faults_file") or settings.state_dir / "faults")
    out_dir = settings.state_dir / "demo-images"
    out_dir.mkdir(parents=True, exist_ok=True)
    run = time.strftime("%H%M%S")  # new prompts each run, so the first pass is never a cache hit
    prompts = [
        f"a lighthouse at dusk, oil painting ({run})",
        f"a red fox asleep in snow ({run})",
        f"a bridge over a canyon {FAULT_MARK} ({run})",
    ]
    say("== image demo: HTTP -> Kafka -> Temporal saga -> Ray Serve -> S3, with the cache and a compensation ==")
    say("   (the local model is a tiny random network: its pictures are noise; every step around it is real)")
    # The third job's billing step fails for good: the saga must delete its PNG and refund it.
    with extra_fault(faults, f"imagegen.log_transaction: fail 100% match={FAULT_MARK}"):
        try:
            return await _image_jobs(settings, gateway_client(gateway, key, timeout_s=15), prompts, out_dir, say, timeout_s)
        except TimeoutError:
            say(f"Jobs did not finish within {timeout_s:.0f}s. See `forgeline logs imagegen-worker` and `... imagegen`.")
            return False


@contextmanager
def extra_fault(path: Path, rule: str) -> Iterator[None]:
    """Add one fault-flag rule for the duration, then put the file back as it was."""
    previous = path.read_text() if path.exists() else ""
    path.write_text(previous + rule + "\n")
    try:
        yield
    finally:
        path.write_text(previous)


async def _image_jobs(
    settings: Settings, client: AuthenticatedClient, prompts: list[str], out_dir: Path, say: Say, timeout_s: float
) -> bool:
    async with client, httpx.AsyncClient(timeout=15) as s3:
        before = expect(await get_me.asyncio_detailed(client=client)).credits_
        say(
            f"1. Balance before: {before} credits (a generated image costs {settings.imagegen.price_credits}, "
            f"a cache hit {settings.imagegen.cache_price_credits})."
        )
        jobs = await _submit_all(client, prompts, say)
        first = await _follow(client, jobs, say, timeout_s)
        say("3. The lighthouse again (other spacing and case: the cache normalises the prompt) ...")
        repeat = await _submit_all(client, [prompts[0].upper().replace(" ", "  ")], say, start=len(jobs) + 1)
        second = await _follow(client, repeat, say, timeout_s)
        results = {**first, **second}
        say("4. Results:")
        for job_id, job in results.items():
            prompt = f"{job.params.prompt[:44]!r:<48}"
            line = f"   {prompt} {job.status.value:<9} cached={job.cached!s:<5} charged={job.credits_charged}"
            if job.image_url:  # a presigned S3 URL: fetched from S3, not from the gateway
                path = out_dir / f"{job_id}.png"
                path.write_bytes((await s3.get(job.image_url)).content)
                line += f"  -> {path}"
            else:
                line += f"  ({job.reason})"
            say(line)
        after = expect(await get_me.asyncio_detailed(client=client)).credits_
        expected = before - 2 * settings.imagegen.price_credits - settings.imagegen.cache_price_credits
        say(f"5. Balance after: {after} credits (expected {expected}: two images, one cache hit, one refunded failure).")
        say(f"   PNGs are in S3 under tenants/<tenant id>/images/; copies are in {out_dir}.")
        say(f"   Follow a job end to end with: forgeline trace {next(iter(results))}")
        statuses = sorted((j.status.value, j.cached) for j in results.values())
        wanted = [("failed", False), ("succeeded", False), ("succeeded", False), ("succeeded", True)]
        return bool(after == expected and statuses == wanted)


async def _submit_all(client: AuthenticatedClient, prompts: list[str], say: Say, start: int = 1) -> dict[uuid.UUID, str]:
    jobs = {}
    for number, prompt in enumerate(prompts, start=start):
        body = ImageRequest(prompt=prompt, width=128, height=128, steps=4, seed=42)
        accepted = expect(await submit_image.asyncio_detailed(client=client, body=body))
        jobs[accepted.job_id] = prompt
        say(f"2. Job {number} queued at once (202): {prompt[:40]!r} -> {accepted.job_id}")
    return jobs


async def _follow(
    client: AuthenticatedClient, jobs: dict[uuid.UUID, str], say: Say, timeout_s: float
) -> dict[uuid.UUID, ImageJobView]:
    """Follow each job's SSE stream, printing every status change as it happens."""
    started = time.monotonic()

    async def one(job_id: uuid.UUID) -> ImageJobView:
        async for _, data in server_sent_events(client, f"/v1/images/{job_id}/events"):
            say(f"   [{time.monotonic() - started:5.1f}s] {jobs[job_id][:40]!r}: {data.get('status')}")
        return expect(await get_image.asyncio_detailed(job_id, client=client))

    results = await asyncio.wait_for(asyncio.gather(*(one(j) for j in jobs)), timeout_s)
    return dict(zip(jobs, results, strict=True))
