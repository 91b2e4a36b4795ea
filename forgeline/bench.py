"""`forgeline bench spine`: the spine's numbers, as JSON, each beside a same-run baseline.

It starts its own stack (temporary home, free ports) so it never disturbs a running one,
and stops it at the end.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil

from forgeline.stack import Stack, isolated_settings
from services.common.settings import Settings, get_settings

Say = Callable[[str], None]


def stack_rss_mib(state: dict[str, Any]) -> float:
    """Resident memory of every process the stack started (whole process trees)."""
    total = 0
    for rec in state["components"].values():
        pid = rec.get("pid")
        if not pid:
            continue
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                total += proc.memory_info().rss
        except psutil.Error:
            continue
    return round(total / 2**20, 1)


@contextmanager
def bench_stack(service_env: dict[str, str], progress: Say) -> Iterator[Stack]:
    """A throw-away stack (own home, free ports) whose services get `service_env`; stopped and
    deleted at the end.

    Its home is made inside the real stack's (`.forgeline/bench-*`), so it keeps its data on
    the filesystem the platform does: Tansu writes each batch as S3 objects, which are files,
    and /tmp is often another filesystem (tmpfs on many systems, which would flatter the
    numbers; on the 2-core machine of docs/measurements, creating a file there cost ~10x).
    """
    os.environ.update(service_env)  # the supervisor hands its environment to the services
    parent = get_settings().state_dir
    parent.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="bench-", dir=parent))
    stack = Stack(isolated_settings(home), progress=lambda m: progress(f"  {m}"))
    try:
        yield stack
    finally:
        progress("stopping the bench stack ...")
        stack.down()
        shutil.rmtree(home, ignore_errors=True)  # its topics and objects run to gigabytes


# Measure the gateway, not the limiter.
UNLIMITED = {"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000"}
# What the gateway measurement runs on: the gateway, its echo consumer and what they use, as
# their pods would run (the rest of the platform idling on the same two cores cost ~25 %).
SPINE_PARTS = ("s3", "kafka", "postgres", "redis", "gateway", "echo")
GATEWAY_GOAL = {"accepted_per_s": 1000, "p99_ms": 50}


def spine(settings: Settings, *, requests: int, messages: int, progress: Say) -> dict[str, Any]:
    """Run all three measurements on a fresh stack and return the JSON-ready result."""
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1)}}
    with bench_stack(UNLIMITED, progress) as stack:
        models = _warm_model_cache(stack.settings, progress)
        progress("1/3 forgeline up (cold, fresh home) ...")
        t0 = time.monotonic()
        state = stack.up()
        result["up"] = {"seconds_to_healthy": round(time.monotonic() - t0, 1), "goal_seconds": 60, **models}
        result["stack"] = {"home": str(stack.settings.state_dir), "topic_partitions": stack.topic_partitions()}
        time.sleep(5)  # let start-up work settle before reading idle memory
        result["up"]["idle_rss_mib"] = stack_rss_mib(stack.load_state())
        env = stack.endpoints_env()
        progress(f"2/3 consumer hop: {messages} messages, FastStream vs raw aiokafka ...")
        result["consumer_hop"] = asyncio.run(consumer_hop(env["KAFKA_BOOTSTRAP_SERVERS"], messages))
        progress(f"3/3 gateway: {requests} authenticated POSTs, on {', '.join(SPINE_PARTS)} only ...")
        stack.down()
        state = stack.up(only=SPINE_PARTS)
        gateway_url, api_key = state["components"]["gateway"]["endpoint"], state["demo_tenant"]["api_key"]
        result["gateway"] = _gateway_runs(gateway_url, api_key, requests)
        # Again with the echo consumer stopped (its publishes and offset commits are S3 writes
        # in Tansu, on the same cores), beside the ceiling: a raw aiokafka producer at the
        # same concurrency on the same broker.
        progress("    again with the echo consumer stopped, then the raw producer ceiling ...")
        stack.kill("echo", 15)
        result["gateway_consumers_stopped"] = stopped = _gateway_runs(gateway_url, api_key, requests)
        with quiet_client():
            ceiling = asyncio.run(producer_ceiling(env["KAFKA_BOOTSTRAP_SERVERS"], requests))
        stopped["raw_producer_ceiling"] = ceiling
        stopped["ratio_to_ceiling"] = round(stopped["capacity"]["accepted_per_s"] / ceiling["records_per_s"], 3)
    return result


@contextmanager
def quiet_client() -> Iterator[None]:
    """No garbage collection in this process while it generates load: a full collection of
    the bench's own heap stalls every request it has in flight, and the open loop would
    count that stall as the server's latency. A run allocates a few MB; collected after."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def _warm_model_cache(settings: Settings, progress: Say) -> dict[str, Any]:
    """Train the moderation classifier into the machine's model cache unless it is there: `up`
    is measured as every start after a machine's first (its models built, as `make models` does)."""
    from services.moderation.classifier import META_FILE, ModelCard, train_cached, training_options

    data = settings.moderation_training_data
    if not data.exists():
        return {"moderation_classifier": f"off: no training data at {data}"}
    progress("0/3 moderation classifier in the model cache (trained once per machine) ...")
    entry, trained = train_cached(data, settings.model_cache_dir, **training_options(settings))
    card = ModelCard.model_validate_json((entry / META_FILE).read_text())
    return {"classifier_trained_now": trained, "classifier_train_seconds_once": card.train_seconds}


# Open-loop runs at the goal's rate: the median one is reported, since one stall of this
# shared machine moves a single run's p99 by tens of milliseconds.
GOAL_RATE_RUNS = 3


def _gateway_runs(gateway_url: str, api_key: str, requests: int) -> dict[str, Any]:
    """Capacity (closed loop, 32 connections) and latency at the goal's rate (open loop,
    `GOAL_RATE_RUNS` runs; the one with the median p99 is `at_goal_rate`)."""
    with quiet_client():
        capacity = asyncio.run(gateway_load(gateway_url, api_key, requests))
    runs = []
    for _ in range(GOAL_RATE_RUNS):
        with quiet_client():
            runs.append(asyncio.run(gateway_at_rate(gateway_url, api_key, GATEWAY_GOAL["accepted_per_s"], requests)))
    at_goal = sorted(runs, key=lambda run: run["p99_ms"])[len(runs) // 2]
    return {
        "capacity": capacity,
        "at_goal_rate": at_goal,
        "at_goal_rate_p99_ms_each_run": [run["p99_ms"] for run in runs],
        "goal": GATEWAY_GOAL,
        "goal_met": at_goal["accepted_per_s"] >= 0.98 * GATEWAY_GOAL["accepted_per_s"]
        and at_goal["p99_ms"] <= GATEWAY_GOAL["p99_ms"],
    }


async def _produce(bootstrap: str, topic: str, count: int) -> None:
    from aiokafka import AIOKafkaProducer

    from services.common.events import BenchPing

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, BenchPing(seq=i, payload="x" * 400).model_dump_json().encode(), key=str(i).encode())
            for i in range(count)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def consumer_hop(bootstrap: str, count: int) -> dict[str, Any]:
    """Consume, handle (no-op), publish, commit: FastStream with our wiring vs a raw aiokafka loop."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from faststream import AckPolicy
    from faststream.kafka import KafkaBroker
    from faststream.kafka.annotations import KafkaMessage

    from services.common.topics import BENCH_IN, BENCH_OUT

    await _produce(bootstrap, BENCH_IN.name, count)

    # Raw baseline.
    consumer = AIOKafkaConsumer(
        BENCH_IN.name,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    done, started = 0, 0.0
    try:
        async for record in consumer:
            if done == 0:
                started = time.perf_counter()
            await producer.send_and_wait(BENCH_OUT.name, record.value, key=record.key)
            await consumer.commit()
            done += 1
            if done == count:
                break
        raw_s = time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()

    # FastStream, wired like a service (manual ack after the publish).
    broker = KafkaBroker(bootstrap, acks="all", linger_ms=5, logger=None)
    finished = asyncio.Event()
    seen = {"n": 0, "t0": 0.0}

    @broker.subscriber(
        BENCH_IN.name,
        group_id=f"bench-fs-{uuid.uuid4().hex[:6]}",
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
    )
    async def hop(msg: KafkaMessage) -> None:
        if seen["n"] == 0:
            seen["t0"] = time.perf_counter()
        await broker.publish(msg.body, BENCH_OUT.name, key=str(seen["n"]).encode())
        await msg.ack()
        seen["n"] += 1
        if seen["n"] == count:
            finished.set()

    await broker.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=600)
        fs_s = time.perf_counter() - seen["t0"]
    finally:
        await broker.stop()
    raw_rate, fs_rate = count / raw_s, count / fs_s
    return {
        "messages": count,
        "raw_aiokafka_msgs_per_s": round(raw_rate, 1),
        "faststream_msgs_per_s": round(fs_rate, 1),
        "ratio": round(fs_rate / raw_rate, 3),
        "goal_ratio": 0.5,
    }


async def producer_ceiling(bootstrap: str, total: int, concurrency: int = 32) -> dict[str, Any]:
    """What the broker itself accepts: `concurrency` raw aiokafka `send_and_wait` loops on one producer."""
    from aiokafka import AIOKafkaProducer

    from services.common.topics import BENCH_OUT

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    latencies: list[float] = []
    remaining = [total]

    async def sender() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            t0 = time.perf_counter()
            await producer.send_and_wait(BENCH_OUT.name, b"x" * 300, key=uuid.uuid4().bytes)
            latencies.append(time.perf_counter() - t0)

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    finally:
        await producer.stop()
    return {"records_per_s": round(total / elapsed, 1), **_percentiles(latencies)}


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def _post_request(base_url: str, api_key: str, path: str, payload: dict[str, Any] | None) -> tuple[str, int, bytes]:
    """Host, port and the bytes of one keep-alive HTTP/1.1 POST of a JSON body."""
    host, port = base_url.removeprefix("http://").split(":")
    body = json.dumps(payload or {"message": "bench"}).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return host, int(port), request


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _round_trip(connection: Connection, request: bytes) -> int:
    """Send one request on a keep-alive connection, read the whole answer, return its status."""
    reader, writer = connection
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def gateway_load(
    base_url: str,
    api_key: str,
    total: int,
    connections: int = 32,
    path: str = "/v1/echo",
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Closed loop, the gateway's capacity: `connections` keep-alive clients on 127.0.0.1, each
    posting its next request as soon as the last is answered; latency per request."""
    host, port, request = _post_request(base_url, api_key, path, payload)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = [total]

    async def client() -> None:
        connection = await asyncio.open_connection(host, port)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                t0 = time.perf_counter()
                code = await _round_trip(connection, request)
                latencies.append(time.perf_counter() - t0)
                statuses[code] = statuses.get(code, 0) + 1
        finally:
            connection[1].close()

    warm = min(200, total // 10)
    remaining[0] = warm
    await asyncio.gather(*(client() for _ in range(4)))
    latencies.clear()
    statuses.clear()
    remaining[0] = total
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - t0
    return {
        "mode": "closed loop",
        "requests": total,
        "connections": connections,
        "statuses": {str(k): v for k, v in statuses.items()},
        "accepted_per_s": round(statuses.get(202, 0) / elapsed, 1),
        **_percentiles(latencies),
    }


async def gateway_at_rate(
    base_url: str,
    api_key: str,
    rate: float,
    total: int,
    connections: int = 64,
    path: str = "/v1/echo",
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open loop, latency at a given load: requests start on a fixed schedule of `rate` per
    second whatever the answers do, over a pool of keep-alive connections. Each latency is
    counted from the request's scheduled start, so time spent waiting behind a slow answer
    (for a free connection) counts too: a server that falls behind cannot hide it."""
    host, port, request = _post_request(base_url, api_key, path, payload)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(due: float) -> None:
        connection = await pool.get()
        try:
            code = await _round_trip(connection, request)
        finally:
            pool.put_nowait(connection)
        latencies.append(time.perf_counter() - due)
        statuses[code] = statuses.get(code, 0) + 1

    for _ in range(min(200, total // 10)):  # warm-up, not measured
        await one(time.perf_counter())
    latencies.clear()
    statuses.clear()
    requests: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        requests.append(asyncio.create_task(one(due)))
    await asyncio.gather(*requests)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return {
        "mode": "open loop",
        "offered_per_s": rate,
        "requests": total,
        "connections": connections,
        "statuses": {str(k): v for k, v in statuses.items()},
        "accepted_per_s": round(statuses.get(202, 0) / elapsed, 1),
        **_percentiles(latencies),
    }


# ---- image jobs -----------------------------------------------------------------------------


def imagegen(settings: Settings, *, accept_requests: int, jobs: int, burst: int, progress: Say) -> dict[str, Any]:
    """`forgeline bench imagegen`: intake, job latency (fresh and cached), saga rate, batching gain."""
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "model": "tiny random pipeline (forgeline models tiny-sd)"}
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
            progress(f"2/6 accept: {accept_requests} POST /v1/images (one prompt: after the first, cache hits) ...")
            out["accept"] = await gateway_load(
                gateway, key, accept_requests, connections=16, path="/v1/images", payload={"prompt": "bench accept", **JOB}
            )
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


def latency_ms(seconds: list[float]) -> dict[str, float | None]:
    """p50 and p95 of latencies given in seconds, in milliseconds (None for no samples)."""
    ordered = sorted(seconds)
    if not ordered:
        return {"p50_ms": None, "p95_ms": None}
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
    }


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


# ---- marketing email ------------------------------------------------------------------------


EMAIL_PARTS = ("s3", "kafka", "postgres", "redis", "smtp", "email", "email-delivery")


def email(settings: Settings, *, carts: int, users: int, backend: str, progress: Say) -> dict[str, Any]:
    """`forgeline bench email`: end-to-end emails/s with one LLM backend, stage latencies, fallback rate."""
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "backend": backend, "carts": carts}
    # Every cart of the bench is meant to be sent: no frequency cap.
    with bench_stack({"EMAIL_FREQUENCY_CAP_HOURS": "0", "LLM_BACKEND": backend}, progress) as stack:
        progress("1/3 forgeline up: the email pipeline and what it needs (fresh home) ...")
        # Only the pipeline's own parts, as its pods would run: the rest of the platform idling
        # on the same two cores (Ray, 14 other consumers polling) is not the pipeline's cost.
        stack.up(only=EMAIL_PARTS + (("ray", "llm-serve") if stack.llm_served() else ()))
        result.update(asyncio.run(_email_run(stack, carts, users, progress)))
    return result


async def _email_run(stack: Stack, carts: int, users: int, progress: Say) -> dict[str, Any]:
    import asyncpg
    from aiokafka import AIOKafkaProducer

    from forgeline.seed import seed
    from forgeline.tail import tail_consumer
    from services.common.events import CartAbandoned, CartItem
    from services.common.topics import CART_ABANDONED, EMAIL_DELIVERED, EMAIL_FAILED, EMAIL_OUTBOUND

    env = stack.endpoints_env()
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        progress(f"2/3 seeding a shop with {users} users ...")
        shop = await seed(conn, stack.home / "seed.json", users=users)
    finally:
        await conn.close()
    tenant = uuid.UUID(shop["tenant"]["id"])
    people = [u for u in shop["users"] if u["user_id"] != shop["suppressed_user_id"]]
    events = [
        CartAbandoned(
            tenant_id=tenant,
            cart_id=f"bench-{i}",
            user_id=people[i % len(people)]["user_id"],
            items=[CartItem(sku=shop["skus"][i % len(shop["skus"])]["sku"], quantity=1, unit_price=Decimal("42.00"))],
            currency="USD",
        )
        for i in range(carts)
    ]
    watch = await tail_consumer(bootstrap, (EMAIL_OUTBOUND.name, EMAIL_DELIVERED.name, EMAIL_FAILED.name))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    progress(f"3/3 {carts} carts onto cart.abandoned, waiting for every one to be sent or refused ...")
    started = time.perf_counter()
    try:
        pending = [await producer.send(CART_ABANDONED.name, e.model_dump_json().encode(), key=e.key()) for e in events]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    produced_s = time.perf_counter() - started
    stages: dict[str, list[float]] = {}
    finished: dict[str, str] = {}
    fallbacks = 0
    last_report = time.perf_counter()
    try:
        while len(finished) < carts:
            batch = await watch.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    if not str(event.get("cart_id", "")).startswith("bench-"):
                        continue
                    if tp.topic == EMAIL_OUTBOUND.name:
                        fallbacks += bool(event["fallback"])
                        for name, ms in event.get("stage_ms", {}).items():
                            stages.setdefault(name, []).append(ms)
                    elif tp.topic == EMAIL_DELIVERED.name:
                        finished[event["cart_id"]] = "sent"
                        stages.setdefault("delivery", []).append(event.get("delivery_ms", 0.0))
                    else:
                        finished[event["cart_id"]] = event["reason"].split(":", 1)[0]
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                rate = len(finished) / (last_report - started)
                progress(f"    {len(finished)}/{carts} done, {rate:.1f}/s")
    finally:
        await watch.stop()
    elapsed = time.perf_counter() - started
    rate = carts / elapsed
    outcomes: dict[str, int] = {}
    for outcome in finished.values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {
        "produce_seconds": round(produced_s, 2),
        "seconds": round(elapsed, 1),
        "emails_per_s": round(rate, 1),
        "goal_emails_per_s": 110,
        "outcomes": outcomes,
        "fallback_rate": round(fallbacks / carts, 3),
        "stage_ms_p50": {name: round(statistics.median(v), 1) for name, v in stages.items()},
        "stage_ms_p95": {name: round(sorted(v)[max(0, int(len(v) * 0.95) - 1)], 1) for name, v in stages.items()},
    }
