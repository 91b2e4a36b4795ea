"""`python -m workflows.imagegen.worker`: the Temporal worker of the image saga.

It also serves `/healthz`, `/readyz` and `/metrics` (port FORGELINE_IMAGEGEN_WORKER_PORT), and
publishes job events on Kafka. Many `generate_image` activities run at once, so Ray Serve can
batch them.
"""

from __future__ import annotations

import asyncio
import signal

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.worker import Worker

from services.common.broker import create_broker, publish_event
from services.common.clients import create_pg_pool, create_redis, create_s3, create_temporal_client
from services.common.events import ImageCompleted, ImageFailed, ImageJobEvent
from services.common.faults import faults
from services.common.http import add_ops_routes, bind_host, http_telemetry, listen_port, service_cli
from services.common.settings import Settings, get_settings
from services.common.telemetry import setup_telemetry, shutdown_telemetry
from services.common.topics import IMAGE_COMPLETED, IMAGE_FAILED, IMAGE_STATUS
from services.imagegen.cache import PromptCache
from workflows.imagegen.activities import ImageActivities, ImageDeps
from workflows.imagegen.workflows import ImageJobWorkflow

SERVICE = "imagegen-worker"
MAX_CONCURRENT_ACTIVITIES = 64


async def run_worker(settings: Settings) -> None:
    """Connect everything, run the worker and the ops routes until SIGTERM/SIGINT."""
    setup_telemetry(settings, SERVICE)
    broker = create_broker(settings, SERVICE)
    pool = await create_pg_pool(settings)
    redis = create_redis(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=settings.client.timeout_s))
    client = await create_temporal_client(settings)
    await broker.start()

    async def publish(event: ImageJobEvent) -> None:
        spec = IMAGE_STATUS
        if isinstance(event, ImageCompleted):
            spec = IMAGE_COMPLETED
        elif isinstance(event, ImageFailed):
            spec = IMAGE_FAILED
        await publish_event(broker, spec, event)

    deps = ImageDeps(
        pool=pool,
        s3=create_s3(settings),
        bucket=settings.endpoints.s3_bucket,
        cache=PromptCache(redis, settings.imagegen.cache_ttl_s),
        http=http,
        serve_url=settings.serve_base_url,
        publish=publish,
        faults=faults(),
    )
    worker = Worker(
        client,
        task_queue=settings.imagegen.task_queue,
        workflows=[ImageJobWorkflow],
        activities=ImageActivities(deps).activities(),
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
    )
    ops = FastAPI(title=SERVICE, docs_url=None, redoc_url=None, telemetry=http_telemetry())

    async def temporal_ready() -> None:
        await client.service_client.check_health()

    async def postgres_ready() -> None:
        await pool.fetchval("SELECT 1")

    add_ops_routes(ops, {"temporal": temporal_ready, "postgres": postgres_ready})
    server = uvicorn.Server(
        uvicorn.Config(
            ops,
            host=bind_host(),
            port=listen_port(settings.local.imagegen_worker_port),
            log_level="warning",
            access_log=False,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with worker:
            serving = asyncio.create_task(server._serve())  # _serve: our handlers, not uvicorn's, own the signals
            await stop.wait()
            server.should_exit = True
            await serving
    finally:
        await broker.stop()
        await http.aclose()
        await redis.aclose()
        await pool.close()
        shutdown_telemetry()


if __name__ == "__main__":
    service_cli(__doc__)
    asyncio.run(run_worker(get_settings()))
