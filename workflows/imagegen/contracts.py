"""Inputs and outputs of the image saga's workflow and activities (pydantic, JSON on the wire)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from services.common.events import ImageParams, ImageStatus

WORKFLOW_NAME = "ImageJobWorkflow"


def workflow_id(job_id: uuid.UUID) -> str:
    """The saga's id: one workflow per job, so a redelivered request cannot start a second."""
    return f"image-{job_id}"


def object_key(tenant_id: uuid.UUID, job_id: uuid.UUID) -> str:
    """Where a job's PNG lives: always under its own tenant's prefix."""
    return f"tenants/{tenant_id}/images/{job_id}.png"


class ImageJob(BaseModel):
    """What the saga is started with (prices and retry budget fixed at start, for determinism)."""

    model_config = ConfigDict(frozen=True)

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    params: ImageParams
    price_credits: int
    cache_price_credits: int
    max_attempts: int = 4
    retry_initial_s: float = 0.5
    retry_max_s: float = 10.0

    @property
    def workflow_id(self) -> str:
        """`image-<job_id>`."""
        return workflow_id(self.job_id)

    @property
    def object_key(self) -> str:
        """This job's PNG in S3."""
        return object_key(self.tenant_id, self.job_id)


class CachedImage(BaseModel):
    """A prompt-cache hit: the object to copy from."""

    source_key: str


class Charge(BaseModel):
    """A credit deduction for one job."""

    job: ImageJob
    amount: int


# PNG bytes travel base64-encoded in Temporal's JSON payloads.
_BINARY = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")


class GeneratedImage(BaseModel):
    """The model's output for one job."""

    model_config = _BINARY

    png: bytes
    batch_size: int


class StoreRequest(BaseModel):
    """Bytes to put at the job's key."""

    model_config = _BINARY

    job: ImageJob
    png: bytes


class CopyRequest(BaseModel):
    """A cached object to copy into the job's key."""

    job: ImageJob
    source_key: str


class TransactionRecord(BaseModel):
    """The billing record of a delivered image."""

    job: ImageJob
    credits: int
    cached: bool


class Outcome(BaseModel):
    """How a job ended: written to Postgres and announced on Kafka."""

    job: ImageJob
    status: ImageStatus
    reason: str | None = None
    cached: bool = False
    credits_charged: int = 0
    object_key: str | None = None
