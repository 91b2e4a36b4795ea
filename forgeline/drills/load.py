"""A drill's load: open-loop requests to the gateway at each pipeline's rate, from a seed (the
same seed sends the same requests), every answer recorded for the auditor."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from forgeline.drills.schema import Workload

NAMESPACE = uuid.UUID("6f1c2a52-3c1e-4a39-9d7b-0b0c9a8d1e77")
WORDS = ("lighthouse", "meadow", "canyon", "harbour", "glacier", "orchard", "market", "comet", "forest", "bridge")
# Ordinary posts; most carry a mild signal word, so tier 1 escalates them and every tier works.
POSTS = (
    "what a lovely day at the market",
    "damn, the new bridge opens next week",
    "anyone know a good bakery near the harbour? this one is crap",
    "our team shipped the damn release on time",
)


ID_FIELD = {"images": "job_id", "content": "content_id", "echo": "echo_id"}  # the pipelines it can load


@dataclass
class Sent:
    """One request of the load and how the gateway answered."""

    pipeline: str
    at_s: float  # since the load started
    status: int  # 0: no answer (transport error)
    resource_id: str | None  # job_id / content_id / echo_id when accepted


@dataclass
class LoadRecord:
    sent: list[Sent] = field(default_factory=list)

    def accepted(self, pipeline: str) -> list[str]:
        return [s.resource_id for s in self.sent if s.pipeline == pipeline and s.status == 202 and s.resource_id]

    def server_errors(self) -> list[Sent]:
        return [s for s in self.sent if s.status >= 500 or s.status == 0]


def request(pipeline: str, index: int, rng: random.Random, seed: int) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The `index`th request of a pipeline for this seed: path, body and headers."""
    ident = uuid.uuid5(NAMESPACE, f"{seed}/{pipeline}/{index}")
    if pipeline == "images":
        prompt = f"a {rng.choice(WORDS)} and a {rng.choice(WORDS)}, study {index} of seed {seed}"
        body = {"prompt": prompt, "width": 64, "height": 64, "steps": 2, "seed": index}
        return "/v1/images", body, {"Idempotency-Key": str(ident)}
    if pipeline == "content":
        body = {"content_id": str(ident), "text": f"{rng.choice(POSTS)} ({index})", "author_id": f"drill-{seed}", "country": "US"}
        return "/v1/content", body, {}
    if pipeline == "echo":
        return "/v1/echo", {"message": f"drill {seed} #{index}"}, {}
    raise ValueError(f"the drill runner cannot load {pipeline!r} yet (it loads images, content and echo)")


async def run_load(client: httpx.AsyncClient, workload: Workload, record: LoadRecord, started: float) -> None:
    """Send every pipeline's requests on schedule (open loop: a slow answer never delays the next
    request) until `duration_s`, then wait for the answers."""
    in_flight: set[asyncio.Task[None]] = set()

    async def send(pipeline: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        at = time.monotonic() - started
        try:
            response = await client.post(path, json=body, headers=headers)
            ident = response.json().get(ID_FIELD[pipeline]) if response.status_code == 202 else None
            record.sent.append(Sent(pipeline, at, response.status_code, str(ident) if ident else None))
        except httpx.HTTPError:
            record.sent.append(Sent(pipeline, at, 0, None))

    async def pipeline_loop(name: str, rate: float) -> None:
        rng = random.Random(f"{workload.seed}/{name}")
        for index in range(int(workload.duration_s * rate)):
            due = started + index / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(send(name, *request(name, index, rng, workload.seed)))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

    await asyncio.gather(*(pipeline_loop(name, load.rate_per_s) for name, load in workload.pipelines.items()))
    if in_flight:
        await asyncio.gather(*in_flight)
