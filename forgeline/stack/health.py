"""Health checks: each part is asked in its own protocol (S3 ListBuckets, a Kafka metadata
request, SELECT 1, PING, Temporal's health RPC, `ray health-check`, SMTP NOOP, HTTP readiness)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx

from forgeline.stack.components import APPS, SERVICES, venv_bin

if TYPE_CHECKING:
    from forgeline.stack.supervisor import Stack


def probes(stack: Stack) -> dict[str, Callable[[], Awaitable[bool]]]:
    """A real protocol-level health check for every part of `stack`."""
    env = stack.endpoints_env()

    async def s3() -> bool:
        client = stack.s3_client(retries=0)
        await asyncio.to_thread(client.list_buckets)
        return True

    async def kafka() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        from services.common.broker import kafka_client_options

        # With the services' own authentication (KAFKA_SECURITY): a Kafka of yours may want it.
        admin = AIOKafkaAdminClient(**kafka_client_options(stack.client_settings()), request_timeout_ms=5000)
        await admin.start()
        try:
            await admin.list_topics()
            return True
        finally:
            await admin.close()

    async def postgres() -> bool:
        import asyncpg

        url = env["DATABASE_URL"]
        if not stack.components["postgres"].external:  # the database may not exist yet
            url = url.rsplit("/", 1)[0] + "/postgres"
        conn = await asyncpg.connect(url, timeout=3)
        try:
            return bool(await conn.fetchval("SELECT 1") == 1)
        finally:
            await conn.close()

    async def redis() -> bool:
        from redis.asyncio import Redis

        client = Redis.from_url(env["REDIS_URL"], socket_timeout=3)
        try:
            return bool(await client.ping())
        finally:
            await client.aclose()

    async def temporal() -> bool:
        from temporalio.client import Client

        client = await Client.connect(env["TEMPORAL_ADDRESS"], namespace=stack.settings.endpoints.temporal_namespace)
        return bool(await client.service_client.check_health())

    async def ray() -> bool:
        proc = await asyncio.create_subprocess_exec(
            venv_bin("ray"),
            "health-check",
            "--address",
            env["RAY_ADDRESS"],
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "RAY_AUTH_MODE": "disabled"},
        )
        return await proc.wait() == 0

    async def smtp() -> bool:
        reader, writer = await asyncio.open_connection(env["SMTP_HOST"], int(env["SMTP_PORT"]))
        try:
            banner = await reader.readline()
            writer.write(b"NOOP\r\n")
            await writer.drain()
            return banner.startswith(b"220") and (await reader.readline()).startswith(b"250")
        finally:
            writer.close()

    github = stack.components["github"]

    async def external_ok() -> bool:
        return True  # real GitHub: its availability is not ours to gate the stack on

    def http_ready(url: str, path: str = "/readyz") -> Callable[[], Awaitable[bool]]:
        async def ready() -> bool:
            async with httpx.AsyncClient(timeout=5) as client:
                return (await client.get(url + path)).status_code == 200

        return ready

    return {
        "s3": s3,
        "kafka": kafka,
        "postgres": postgres,
        "redis": redis,
        "temporal": temporal,
        "ray": ray,
        "smtp": smtp,
        "github": external_ok if github.external else http_ready(github.endpoint, "/healthz"),
        **{app: http_ready(stack.components[app].endpoint, "/healthz") for app in APPS},
        **{name: http_ready(stack.components[name].endpoint) for name in SERVICES},
    }
