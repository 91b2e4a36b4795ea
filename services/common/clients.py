"""Clients for S3, Redis and Postgres, with timeouts and retries set in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
import boto3
from botocore.config import Config
from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from services.common.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from temporalio.client import Client as TemporalClient


def _require(value: str, name: str) -> str:
    if not value:
        raise RuntimeError(f"{name} is not set: run `forgeline up` (it sets it for its services) or point it at a server")
    return value


async def create_pg_pool(settings: Settings, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool on DATABASE_URL."""
    pool = await asyncpg.create_pool(
        _require(settings.endpoints.database_url, "DATABASE_URL"),
        min_size=min_size,
        max_size=max_size,
        timeout=settings.client.timeout_s,
        command_timeout=settings.client.timeout_s * 2,
    )
    assert pool is not None
    return pool


def create_redis(settings: Settings) -> Redis:
    """An asyncio Redis client on REDIS_URL, retrying transient connection errors."""
    return Redis.from_url(
        _require(settings.endpoints.redis_url, "REDIS_URL"),
        socket_timeout=settings.client.timeout_s,
        socket_connect_timeout=settings.client.timeout_s,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), settings.client.retries),
        decode_responses=False,
    )


def create_s3(settings: Settings) -> S3Client:
    """A boto3 S3 client on S3_ENDPOINT_URL (path-style, so any S3 API server works).

    Without AWS_ACCESS_KEY_ID, boto3 finds credentials itself (IRSA's web identity on EKS).
    """
    return boto3.client(
        "s3",
        endpoint_url=_require(settings.endpoints.s3_endpoint_url, "S3_ENDPOINT_URL"),
        aws_access_key_id=settings.endpoints.aws_access_key_id or None,
        aws_secret_access_key=settings.endpoints.aws_secret_access_key or None,
        region_name=settings.endpoints.aws_region,
        config=Config(
            connect_timeout=settings.client.timeout_s,
            read_timeout=settings.client.timeout_s * 2,
            retries={"max_attempts": settings.client.retries, "mode": "standard"},
            s3={"addressing_style": "path"},
        ),
    )


async def create_temporal_client(settings: Settings) -> TemporalClient:
    """A Temporal client on TEMPORAL_ADDRESS: pydantic payloads, OpenTelemetry spans across workflows."""
    from temporalio.client import Client
    from temporalio.contrib.opentelemetry import TracingInterceptor
    from temporalio.contrib.pydantic import pydantic_data_converter

    return await Client.connect(
        _require(settings.endpoints.temporal_address, "TEMPORAL_ADDRESS"),
        namespace=settings.endpoints.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=[TracingInterceptor()],
    )
