"""The image saga's activities. Each is idempotent, keyed by workflow id + step, so a retry
or a worker crash never charges twice or leaves an orphan object.

Clients (Postgres pool, S3, Redis cache, HTTP client to Ray Serve, Kafka publisher) are
passed in; nothing here reads global state but the fault flags.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from prometheus_client import Counter, Histogram
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.common.events import ImageCompleted, ImageFailed, ImageJobEvent, ImageStatusChanged
from services.common.faults import FaultFlags
from services.imagegen import store
from services.imagegen.cache import CacheEntry, PromptCache
from workflows.imagegen.contracts import (
    CachedImage,
    Charge,
    CopyRequest,
    GeneratedImage,
    ImageJob,
    Outcome,
    StoreRequest,
    TransactionRecord,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("forgeline.imagegen.activities")
BATCH_SIZE = Histogram(
    "forgeline_image_batch_size", "Requests that shared one model call on Ray Serve.", buckets=(1, 2, 4, 8, 16, 32)
)
GENERATE_SECONDS = Histogram("forgeline_image_generate_seconds", "Time for one image on Ray Serve, queueing included.")
# Counted once an effect committed; an activity retried after a failure had not counted yet.
JOBS_FINISHED = Counter("forgeline_image_jobs_finished_total", "Image sagas finished, by final status.", ["status"])
CREDITS = Counter("forgeline_image_credits_total", "Credits charged and refunded by image sagas.", ["kind"])
COMPENSATIONS = Counter("forgeline_saga_compensations_total", "Saga compensations run, by step.", ["step"])

INSUFFICIENT_CREDITS = "InsufficientCredits"
CANCEL_REQUESTED = "CancelRequested"
HEARTBEAT_EVERY_S = 1.0


@dataclass
class ImageDeps:
    """What the activities work with."""

    pool: asyncpg.Pool
    s3: S3Client
    bucket: str
    cache: PromptCache
    http: httpx.AsyncClient
    serve_url: str
    publish: Callable[[ImageJobEvent], Awaitable[None]]
    faults: FaultFlags


def _fault_subject(job: ImageJob) -> str:
    """What fault-flag `match=` rules see: the job id and its prompt (never logged)."""
    return f"{job.job_id} {job.params.prompt}"


def _event_id(job: ImageJob, what: str) -> uuid.UUID:
    """Stable ids: a retried activity re-announces with the same event id."""
    return uuid.uuid5(job.job_id, what)


class ImageActivities:
    """The saga's steps; register `activities()` with a Temporal worker."""

    def __init__(self, deps: ImageDeps) -> None:
        self.d = deps

    def activities(self) -> list[Callable[..., Any]]:
        """Every activity, for `Worker(activities=...)`."""
        return [
            self.mark_running,
            self.find_cached,
            self.deduct_credits,
            self.refund_credits,
            self.generate_image,
            self.store_image,
            self.copy_cached_image,
            self.delete_image,
            self.remember_in_cache,
            self.log_transaction,
            self.finish_job,
        ]

    @activity.defn
    async def mark_running(self, job: ImageJob) -> None:
        """`queued` -> `running`, announced once per job."""
        await store.mark_running(self.d.pool, job.job_id)
        await self.d.publish(
            ImageStatusChanged(event_id=_event_id(job, "running"), tenant_id=job.tenant_id, job_id=job.job_id, status="running")
        )

    @activity.defn
    async def find_cached(self, job: ImageJob) -> CachedImage | None:
        """A prompt-cache hit this tenant may use, whose object still exists; None otherwise."""
        share = await store.shares_cache(self.d.pool, job.tenant_id)
        entry = await self.d.cache.find(job.params, job.tenant_id, share)
        if entry is None:
            return None
        try:
            await asyncio.to_thread(self.d.s3.head_object, Bucket=self.d.bucket, Key=entry.object_key)
        except self.d.s3.exceptions.ClientError:
            return None  # the cached object was deleted: a miss
        return CachedImage(source_key=entry.object_key)

    @activity.defn
    async def deduct_credits(self, charge: Charge) -> int:
        """Take `amount` credits (never below zero); the balance after. Once per job, never after
        the tenant cancelled it."""
        job = charge.job
        try:
            balance = await store.deduct(self.d.pool, f"{job.workflow_id}:deduct", job.tenant_id, job.job_id, charge.amount)
        except store.InsufficientCreditsError as error:
            raise ApplicationError(str(error), type=INSUFFICIENT_CREDITS, non_retryable=True) from error
        except store.CancelRequestedError as error:
            raise ApplicationError(str(error), type=CANCEL_REQUESTED, non_retryable=True) from error
        CREDITS.labels("charged").inc(charge.amount)
        return balance

    @activity.defn
    async def refund_credits(self, job: ImageJob) -> int:
        """Compensation: give back what `deduct_credits` took (nothing if it took nothing). Once per job."""
        deduct_key, op_key = f"{job.workflow_id}:deduct", f"{job.workflow_id}:refund"
        if self.d.faults.skips("imagegen.refund", _fault_subject(job)):
            return 0  # a planted defect (fault flag), for drills to catch
        refunded = await store.refund(self.d.pool, op_key, deduct_key, job.tenant_id, job.job_id)
        COMPENSATIONS.labels("refund_credits").inc()
        CREDITS.labels("refunded").inc(refunded)
        return refunded

    @activity.defn
    async def generate_image(self, job: ImageJob) -> GeneratedImage:
        """Draw the image on the Ray Serve deployment, heartbeating while it works."""
        heartbeat = asyncio.create_task(_heartbeat_forever())
        try:
            await self.d.faults.check("imagegen.generate", _fault_subject(job))
            with GENERATE_SECONDS.time():
                response = await self.d.http.post(f"{self.d.serve_url}/imagegen/generate", json=job.params.model_dump())
            if response.status_code >= 500:
                raise RuntimeError(f"Ray Serve answered {response.status_code}: {response.text[:200]}")
            if response.status_code >= 400:
                raise ApplicationError(f"the model refused the request: {response.text[:200]}", non_retryable=True)
            batch_size = int(response.headers.get("x-batch-size", "1"))
            BATCH_SIZE.observe(batch_size)
            return GeneratedImage(png=response.content, batch_size=batch_size)
        finally:
            heartbeat.cancel()

    @activity.defn
    async def store_image(self, request: StoreRequest) -> str:
        """Put the PNG at the job's key (a retry overwrites the same key: no orphans)."""
        await self.d.faults.check("imagegen.store", _fault_subject(request.job))
        await asyncio.to_thread(
            self.d.s3.put_object,
            Bucket=self.d.bucket,
            Key=request.job.object_key,
            Body=request.png,
            ContentType="image/png",
            Metadata={"tenant-id": str(request.job.tenant_id), "job-id": str(request.job.job_id)},
        )
        return request.job.object_key

    @activity.defn
    async def copy_cached_image(self, request: CopyRequest) -> str:
        """A cache hit: copy the cached object into this job's own key."""
        await asyncio.to_thread(
            self.d.s3.copy_object,
            Bucket=self.d.bucket,
            Key=request.job.object_key,
            CopySource={"Bucket": self.d.bucket, "Key": request.source_key},
        )
        return request.job.object_key

    @activity.defn
    async def delete_image(self, job: ImageJob) -> None:
        """Compensation: remove the job's object if it was written (deleting nothing is fine)."""
        await asyncio.to_thread(self.d.s3.delete_object, Bucket=self.d.bucket, Key=job.object_key)
        COMPENSATIONS.labels("delete_image").inc()

    @activity.defn
    async def remember_in_cache(self, job: ImageJob) -> bool:
        """Point the prompt cache at this job's object (best effort: Redis down is logged)."""
        share = await store.shares_cache(self.d.pool, job.tenant_id)
        entry = CacheEntry(object_key=job.object_key, tenant_id=job.tenant_id, shared=share)
        return await self.d.cache.remember(job.params, entry)

    @activity.defn
    async def log_transaction(self, record: TransactionRecord) -> None:
        """The billing record of a delivered image (one per job)."""
        await self.d.faults.check("imagegen.log_transaction", _fault_subject(record.job))
        job = record.job
        await store.log_transaction(self.d.pool, job.job_id, job.tenant_id, record.credits, record.cached, job.object_key)

    @activity.defn
    async def finish_job(self, outcome: Outcome) -> None:
        """Write the final state and announce it on `image.completed` or `image.failed`."""
        job = outcome.job
        await store.finish(self.d.pool, job.job_id, outcome.status, outcome.reason, outcome.cached, outcome.object_key)
        fields: dict[str, Any] = {
            "event_id": _event_id(job, "finished"),
            "tenant_id": job.tenant_id,
            "job_id": job.job_id,
            "status": outcome.status,
            "reason": outcome.reason,
            "cached": outcome.cached,
            "credits_charged": outcome.credits_charged,
            "object_key": outcome.object_key,
        }
        await self.d.publish(ImageCompleted(**fields) if outcome.status == "succeeded" else ImageFailed(**fields))
        JOBS_FINISHED.labels(outcome.status).inc()


async def _heartbeat_forever() -> None:
    """Tell Temporal this attempt is alive, so a dead worker's attempt times out fast."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY_S)
