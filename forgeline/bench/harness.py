"""What every bench shares: throw-away stacks, closed- and open-loop HTTP load, percentiles.

A bench starts its own stack (a fresh home under .forgeline/, free ports), so it never
disturbs a running one, and stops and deletes it at the end.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from forgeline.demos.narrate import Say
from forgeline.stack import Stack, isolated_settings
from services.common.settings import Settings, get_settings


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
UNLIMITED = {"GATEWAY_RATE_LIMIT_PER_SECOND": "1000000", "GATEWAY_RATE_LIMIT_BURST": "1000000"}


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


def warm_model_cache(settings: Settings, progress: Say) -> dict[str, Any]:
    """Build the models into the machine's model cache unless they are there (the tiny image
    pipeline, the moderation classifier): `up` is measured as every start after a machine's
    first, its models built, as `make models` does."""
    from services.imagegen.model import cached_tiny_sd
    from services.moderation.classifier import META_FILE, ModelCard, train_cached, training_options

    progress("models in the machine's cache (built once per machine) ...")
    _, tiny_written = cached_tiny_sd(settings.model_cache_dir)
    data = settings.moderation_training_data
    if not data.exists():
        return {"tiny_image_model_written_now": tiny_written, "moderation_classifier": f"off: no training data at {data}"}
    entry, trained = train_cached(data, settings.model_cache_dir, **training_options(settings))
    card = ModelCard.model_validate_json((entry / META_FILE).read_text())
    return {
        "tiny_image_model_written_now": tiny_written,
        "classifier_trained_now": trained,
        "classifier_train_seconds_once": card.train_seconds,
    }


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p99_ms": round(p99 * 1000, 2)}


def latency_ms(seconds: list[float]) -> dict[str, float | None]:
    """p50 and p95 of latencies given in seconds, in milliseconds (None for no samples)."""
    ordered = sorted(seconds)
    if not ordered:
        return {"p50_ms": None, "p95_ms": None}
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
    }


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
    payload: dict[str, Any] | Callable[[int], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Closed loop, the gateway's capacity: `connections` keep-alive clients on 127.0.0.1, each
    posting its next request as soon as the last is answered; latency per request. A callable
    `payload` makes each request's body from its number (distinct image prompts, say)."""
    host, port, request = _post_request(base_url, api_key, path, None if callable(payload) else payload)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = [total]

    numbers = itertools.count()  # warm-up requests included: no body is sent twice

    def next_request() -> bytes:
        return _post_request(base_url, api_key, path, payload(next(numbers)))[2] if callable(payload) else request

    async def client() -> None:
        connection = await asyncio.open_connection(host, port)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                body = next_request()
                t0 = time.perf_counter()
                code = await _round_trip(connection, body)
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
        **percentiles(latencies),
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
        **percentiles(latencies),
    }
