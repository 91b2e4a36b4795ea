"""`forgeline bench moderation`: tier 1 in process, tier 1 through Kafka, tier 2 on Ray Serve.

Each number sits beside a baseline from the same run:

* tier 1: items/s on one core, and its ratio to a naive loop of `re.search` over the same
  terms and patterns (no normalisation, so the naive loop even does less work);
* end to end through Kafka with tier 1 only: a throw-away stack runs Kafka, Postgres and the
  rules service; events go straight to `content.submitted`, decisions are read back from
  `moderation.decided`: items/s and p95 decision latency;
* tier 2: texts/s through the Serve deployment batched (`@serve.batch`) vs unbatched at the
  same concurrency, on a private Ray; on a GPU machine `--gpus 1 --batch-sizes 64,256`:

    python -m forgeline.bench.moderation --tier2-only --gpus 1 --replicas 1,4 --batch-sizes 64,256
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forgeline.bench.output import emit
from forgeline.demos.narrate import Say
from services.common.settings import Settings, get_settings
from services.moderation.normalise import normalise
from services.moderation.policy import Policy, configured_policy

GOALS = {"tier1_items_per_s_per_core": 20_000, "e2e_p95_ms": 500, "tier2_gpu_texts_per_s": 5_000}


def sample_texts(settings: Settings, limit: int = 20_000, texts_file: Path | None = None) -> list[str]:
    """Texts from `texts_file` (one per line), else real tweets when the moderation data is
    here, else a synthetic mix."""
    if texts_file is not None:
        return [line for line in texts_file.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    data = settings.moderation_training_data
    if data.exists():
        with data.open(newline="", encoding="utf-8") as handle:
            return [row["tweet"] for row in csv.DictReader(handle)][:limit]
    base = ["What a lovely day at the beach", "I hate women", "you f4gg0t", "Great game last night!", "see https://x.example"]
    return [f"{base[i % len(base)]} {i}" for i in range(limit)]


class NaiveRules:
    """The baseline: one `re.search` per term and pattern, on the lower-cased text."""

    def __init__(self, policy: Policy) -> None:
        terms = [normalise(t) for tl in policy.terms for t in tl.terms]
        self._regexes = [re.compile(r"\b" + re.escape(t) + r"\w*\b") for t in terms if t]
        self._regexes += [re.compile(p.regex) for p in policy.patterns]

    def evaluate(self, text: str) -> list[str]:
        """Every rule that matches."""
        lowered = text.casefold()
        return [r.pattern for r in self._regexes if r.search(lowered)]


def tier1_in_process(settings: Settings, texts: list[str], rounds: int = 3) -> dict[str, Any]:
    """Items/s of the compiled rules and of the naive loop, best of `rounds` each."""
    from services.moderation.rules import RuleBook  # pyahocorasick: not needed for --tier2-only

    policy = configured_policy(settings.moderation.policy_path)
    rules = RuleBook(policy).for_country("US")
    naive = NaiveRules(policy)

    def rate(fn: Callable[[str], object]) -> float:
        best = 0.0
        for _ in range(rounds):
            started = time.perf_counter()
            for text in texts:
                fn(text)
            best = max(best, len(texts) / (time.perf_counter() - started))
        return best

    fast = rate(rules.evaluate)
    slow = rate(naive.evaluate)
    outcomes = [rules.evaluate(t).outcome for t in texts]
    return {
        "items": len(texts),
        "items_per_s_one_core": round(fast),
        "naive_re_search_items_per_s": round(slow),
        "ratio_to_naive": round(fast / slow, 1),
        "rules": sum(len(tl.terms) for tl in policy.terms) + len(policy.patterns),
        "outcome_share": {o: round(outcomes.count(o) / len(outcomes), 3) for o in ("approve", "reject", "escalate")},
        "goal_items_per_s": GOALS["tier1_items_per_s_per_core"],
    }


async def tier1_through_kafka(env: dict[str, str], tenant_id: str, count: int, rate: float | None = None) -> dict[str, Any]:
    """Events straight onto content.submitted (all at once, or paced at `rate`/s), decisions
    read back from moderation.decided: throughput and decision latency."""
    from aiokafka import AIOKafkaProducer

    from forgeline.bench.harness import latency_ms
    from forgeline.tools.tail import tail_consumer
    from services.common.events import ContentSubmitted, ModerationDecided
    from services.common.topics import CONTENT_SUBMITTED, MODERATION_DECIDED

    texts = ["What a lovely day at the beach", "you f4gg0t", "Great game last night!", "see https://phishing.example/x"]
    events = [
        ContentSubmitted(tenant_id=uuid.UUID(tenant_id), text=f"{texts[i % len(texts)]} #{i}", author_id="bench", country="US")
        for i in range(count)
    ]
    sent: dict[uuid.UUID, float] = {}
    latencies: list[float] = []
    consumer = await tail_consumer(env["KAFKA_BOOTSTRAP_SERVERS"], (MODERATION_DECIDED.name,))
    producer = AIOKafkaProducer(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()

        async def produce() -> None:
            for i, event in enumerate(events):
                if rate is not None:  # paced: latency at a sustainable load, not queueing behind a burst
                    await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
                sent[event.content_id] = time.perf_counter()
                await producer.send(CONTENT_SUBMITTED.name, event.model_dump_json().encode(), key=event.key())
            await producer.flush()

        producing = asyncio.create_task(produce())
        seen: set[uuid.UUID] = set()
        deadline = time.monotonic() + 300
        while len(seen) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    decided = ModerationDecided.model_validate_json(record.value or b"{}")
                    if decided.content_id in sent and decided.content_id not in seen:
                        seen.add(decided.content_id)
                        latencies.append(time.perf_counter() - sent[decided.content_id])
        elapsed = time.perf_counter() - started
        await producing
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "items": count,
        "offered_per_s": rate or "all at once",
        "decided": len(seen),
        "items_per_s": round(len(seen) / elapsed, 1),
        **latency_ms(latencies),
        "goal_p95_ms": GOALS["e2e_p95_ms"],
    }


def held_out_texts(settings: Settings, count: int, seed: int = 24) -> list[str]:
    """`count` tweets drawn (fixed seed) from the Davidson test split the classifier never
    trained on or chose thresholds with: the natural mix of hateful, offensive and clean."""
    import random

    from services.moderation.classifier import Classifier, read_davidson

    card = Classifier(settings.moderation_model_dir).card
    texts = read_davidson(settings.moderation_training_data).texts
    return [texts[i] for i in random.Random(seed).sample(list(card.test_indices), min(count, len(card.test_indices)))]


async def through_the_stack(gateway: str, env: dict[str, str], serve_url: str, texts: list[str], rate: float) -> dict[str, Any]:
    """Every text as `POST /v1/content`, paced at `rate`/s: which tier settled it (a decision on
    moderation.decided, or a person's queue announced on moderation.review) and how long after
    the POST; and, in the same run, one-text calls to the classifier deployment (its own cost)."""
    import asyncpg
    import httpx

    from forgeline.bench.harness import latency_ms
    from forgeline.tools.tail import tail_consumer
    from services.common.events import ModerationDecided, ReviewRequested
    from services.common.topics import MODERATION_DECIDED, MODERATION_REVIEW
    from services.gateway.tenants import create_tenant
    from services.moderation.handlers import classify_url

    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        _, key = await create_tenant(conn, f"bench-{uuid.uuid4().hex[:6]}", 10**9)
    finally:
        await conn.close()
    sent: dict[uuid.UUID, float] = {}
    accept: list[float] = []
    refused: dict[int, int] = {}
    settled: dict[uuid.UUID, tuple[str, float]] = {}
    consumer = await tail_consumer(env["KAFKA_BOOTSTRAP_SERVERS"], (MODERATION_DECIDED.name, MODERATION_REVIEW.name))
    async with httpx.AsyncClient(base_url=gateway, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        try:
            started = time.perf_counter()

            async def post(i: int, text: str) -> None:
                await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
                content_id = uuid.uuid4()
                sent[content_id] = time.perf_counter()
                response = await client.post(
                    "/v1/content", json={"content_id": str(content_id), "text": text, "author_id": "bench", "country": "US"}
                )
                if response.status_code == 202:
                    accept.append(time.perf_counter() - sent[content_id])
                else:
                    refused[response.status_code] = refused.get(response.status_code, 0) + 1
                    sent.pop(content_id)

            posting = asyncio.gather(*(post(i, text) for i, text in enumerate(texts)))
            deadline = time.monotonic() + len(texts) / rate + 300
            while (not posting.done() or len(settled) < len(sent)) and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        now = time.perf_counter()
                        if record.topic == MODERATION_DECIDED.name:
                            decided = ModerationDecided.model_validate_json(record.value or b"{}")
                            content_id, tier = decided.content_id, str(decided.tier)
                        else:
                            content_id, tier = ReviewRequested.model_validate_json(record.value or b"{}").content_id, "human"
                        if content_id in sent and content_id not in settled:
                            settled[content_id] = (tier, now - sent[content_id])
            await posting
        finally:
            await consumer.stop()
        classify: list[float] = []
        for text in texts[:100]:
            began = time.perf_counter()
            (await client.post(classify_url(serve_url), json={"texts": [text]})).raise_for_status()
            classify.append(time.perf_counter() - began)
    tiers = ("rules", "classifier", "judge", "human")
    by_tier = {t: [seconds for tier, seconds in settled.values() if tier == t] for t in tiers}
    return {
        "items": len(texts),
        "offered_per_s": rate,
        "accepted": len(sent),
        "refused_by_status": refused,
        "settled": len(settled),
        "tier_mix": {t: round(len(by_tier[t]) / max(len(settled), 1), 4) for t in tiers},
        "tier_mix_seed_targets": {"rules": 0.60, "classifier": 0.35, "judge": 0.05, "human": "0.01-0.02"},
        "accept_latency": latency_ms(accept),
        "decision_latency": {t: {"items": len(v), **latency_ms(v)} for t, v in by_tier.items()},
        "classifier_call_one_text": {"calls": len(classify), **latency_ms(classify)},
    }


async def _drive(handle: Any, texts: list[str], concurrency: int, batched: bool) -> dict[str, float]:
    method = handle.score_batched if batched else handle.score_one
    queue = list(texts)
    batches: list[int] = []

    async def worker() -> None:
        while queue:
            text = queue.pop()
            batches.append((await method.remote(text))["batch"])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = len(texts) / (time.perf_counter() - started)
    return {"texts_per_s": round(rate, 1), "mean_batch": round(statistics.mean(batches), 1)}


async def _drive_requests(handle: Any, texts: list[str], size: int, concurrency: int) -> float:
    """Texts/s when each call carries `size` texts (one forward pass each), `concurrency` in flight."""
    requests = [texts[i : i + size] for i in range(0, len(texts), size)]

    async def worker() -> None:
        while requests:
            await handle.score_many.remote(requests.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return round(len(texts) / (time.perf_counter() - started), 1)


def tier2_serve(
    settings: Settings, texts: list[str], batch_sizes: list[int], gpus: float, per_point: int, progress: Say, replicas: int = 1
) -> dict[str, Any]:
    """Texts/s of the Serve deployment per max batch size, batched vs unbatched, on a private Ray.

    With `replicas` > 1 the GPU is shared (each replica asks for gpus / replicas): the
    tokeniser and the Python around the model run on CPU, one replica at a time each.
    """
    from ray import serve

    from forgeline.bench.serve import private_ray
    from services.moderation.serve_app import APP_NAME, build_app

    points: list[dict[str, Any]] = []
    with private_ray(gpus):
        for batch in batch_sizes:
            sized = settings.replace(
                moderation={
                    "num_gpus": gpus / replicas,
                    "num_cpus": 1.0,
                    "min_replicas": replicas,
                    "max_replicas": replicas,
                    "max_batch_size": batch,
                    "batch_wait_timeout_s": 0.01,
                }
            )
            serve.run(build_app(sized), name=APP_NAME, route_prefix=None)
            handle = serve.get_deployment_handle("ModerationModel", app_name=APP_NAME)
            device = handle.describe.remote().result()["device"]
            sample = (texts * (1 + per_point // max(len(texts), 1)))[:per_point]
            asyncio.run(_drive(handle, sample[: 2 * batch], 2 * batch, batched=True))  # warm-up
            # One text per call (the tier-2 consumer's records): @serve.batch merges concurrent calls.
            batched = asyncio.run(_drive(handle, sample, 2 * batch, batched=True))
            unbatched = asyncio.run(_drive(handle, sample[: max(per_point // 4, 64)], 2 * batch, batched=False))
            # Calls that carry `batch` texts each (a Kafka batch, a bulk job): one forward pass per call.
            asyncio.run(_drive_requests(handle, sample[: 4 * batch], batch, 2))  # warm-up at this shape
            point: dict[str, Any] = {
                "max_batch_size": batch,
                "device": device,
                "single_text_calls": {
                    "batched_texts_per_s": batched["texts_per_s"],
                    "mean_batch": batched["mean_batch"],
                    "unbatched_texts_per_s": unbatched["texts_per_s"],
                    "batched_over_unbatched": round(batched["texts_per_s"] / unbatched["texts_per_s"], 2),
                },
                "calls_of_batch_texts_per_s": asyncio.run(_drive_requests(handle, sample, batch, 2 * replicas)),
            }
            points.append(point)
            progress(json.dumps(point))
            serve.delete(APP_NAME)
    from services.common.embeddings import describe_weights

    return {
        "gpus": gpus,
        "replicas": replicas,
        "encoder": describe_weights(),
        "points": points,
        "goal_gpu_texts_per_s": GOALS["tier2_gpu_texts_per_s"],
    }


def moderation(
    settings: Settings,
    *,
    items: int,
    texts: int,
    batch_sizes: list[int],
    gpus: float,
    progress: Say,
    stack_items: int = 400,
    stack_rate: float = 4.0,
) -> dict[str, Any]:
    """All four measurements (the `forgeline bench moderation` result)."""
    from forgeline.bench.harness import bench_stack
    from services.moderation.classifier import installed

    if not installed(settings.moderation_model_dir):
        raise FileNotFoundError(f"no classifier at {settings.moderation_model_dir}: run `forgeline models classifier` first")
    sample = sample_texts(settings)
    progress(f"1/4 tier 1 in process: {len(sample)} texts, compiled rules vs naive re.search ...")
    result: dict[str, Any] = {"tier1": tier1_in_process(settings, sample)}
    progress(f"2/4 tier 1 through Kafka: {items} events on a throw-away stack ...")
    with bench_stack({}, progress) as stack:
        state = stack.up(only=("s3", "kafka", "postgres", "moderation-rules"))
        tenant_id = asyncio.run(_demo_tenant_id(stack.endpoints_env()["DATABASE_URL"], state["demo_tenant"]["name"]))
        burst = asyncio.run(tier1_through_kafka(stack.endpoints_env(), tenant_id, items))
        paced_rate = round(burst["items_per_s"] / 2)
        progress(f"    again paced at half that throughput ({paced_rate}/s) for the latency ...")
        paced = asyncio.run(tier1_through_kafka(stack.endpoints_env(), tenant_id, min(items, paced_rate * 10), paced_rate))
        result["tier1_kafka"] = {"burst": burst, "paced": paced}
    progress(f"3/4 tier 2 on Ray Serve ({'GPU' if gpus else 'CPU'}): {texts} texts per point, batched vs unbatched ...")
    result["tier2"] = tier2_serve(settings, sample[:2000], batch_sizes, gpus, texts, progress)
    held_out = held_out_texts(settings, stack_items)
    progress(f"4/4 the whole pipeline: {len(held_out)} held-out tweets as POST /v1/content at {stack_rate}/s ...")
    with bench_stack({}, progress) as stack:
        parts = ("s3", "kafka", "postgres", "redis", "ray", "moderation-serve", "gateway")
        state = stack.up(only=(*parts, *(f"moderation-{tier}" for tier in ("rules", "classifier", "judge"))))
        gateway = state["components"]["gateway"]["endpoint"]
        run = through_the_stack(gateway, stack.endpoints_env(), stack.settings.serve_base_url, held_out, stack_rate)
        result["end_to_end"] = {"judge_backend": stack.settings.llm.backend, **asyncio.run(run)}
    return result


async def _demo_tenant_id(database_url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return str(await conn.fetchval("SELECT id FROM tenants WHERE name = $1", name))
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m forgeline.bench.moderation` (tier 2 alone on a GPU machine)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier2-only", action="store_true", help="only the Serve deployment (no stack needed)")
    parser.add_argument("--gpus", type=float, default=0.0, help="GPUs per replica (0: CPU)")
    parser.add_argument("--batch-sizes", default="64,256", help="comma-separated max_batch_size values")
    parser.add_argument("--texts", type=int, default=4096, help="texts per measured point")
    parser.add_argument("--replicas", default="1", help="comma-separated replica counts sharing the GPU(s), one run each")
    parser.add_argument("--texts-file", type=Path, default=None, help="texts to score, one per line")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    settings = get_settings()
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    say: Say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.tier2_only:
        sample = sample_texts(settings, 2000, args.texts_file)
        runs = [tier2_serve(settings, sample, sizes, args.gpus, args.texts, say, int(r)) for r in args.replicas.split(",")]
        result = {"tier2": runs[0]} if len(runs) == 1 else {"tier2_by_replicas": runs}
    else:
        result = moderation(settings, items=2000, texts=args.texts, batch_sizes=sizes, gpus=args.gpus, progress=say)
    emit(result, args.out)


if __name__ == "__main__":
    main()
