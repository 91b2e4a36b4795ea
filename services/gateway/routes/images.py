"""Image job endpoints: submit (202 at once), status with a presigned URL, cancel, live SSE per job."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse

from services.common.broker import publish_event
from services.common.events import (
    NOT_BLANK,
    ImageCancelRequested,
    ImageParams,
    ImageRequested,
    ImageStatus,
    Integer,
    not_blank,
    not_bool,
)
from services.common.settings import Settings
from services.common.topics import IMAGE_CANCEL, IMAGE_REQUESTED
from services.gateway.auth import Caller
from services.gateway.errors import AUTHED, LOCATION, invalid, responses
from services.gateway.live import LiveHub, sse_frame
from services.gateway.tenants import Tenant
from services.imagegen import store

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FINAL: frozenset[str] = frozenset({"succeeded", "failed", "rejected", "cancelled"})


class ImageRequest(BaseModel):
    """Body of `POST /v1/images`. Sizes are multiples of 8 within the configured bounds."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"prompt": "a lighthouse at dusk", "width": 256, "height": 256, "steps": 20, "seed": 7}]},
    )

    # The size bounds come from settings: services/gateway/openapi.py writes them into the document.
    prompt: str = Field(
        min_length=1,
        max_length=1000,
        description="What to draw (1 to 1,000 characters).",
        json_schema_extra={"pattern": NOT_BLANK},
    )
    width: Integer = Field(description="Pixels, a multiple of 8.")
    height: Integer = Field(description="Pixels, a multiple of 8.")
    steps: Integer = Field(ge=1, description="Denoising steps.")
    seed: Annotated[int, Field(ge=0, lt=2**31), BeforeValidator(not_bool)] | None = Field(
        default=None, description="Fix for a repeatable image; null for a random one."
    )

    @field_validator("prompt")
    @classmethod
    def prompt_not_blank(cls, value: str) -> str:
        return not_blank(value, "prompt")


class ImageAccepted(BaseModel):
    """202 answer: the job is queued; follow it at the URLs."""

    job_id: uuid.UUID
    status: ImageStatus = "queued"
    status_url: str
    events_url: str


class ImageJobView(BaseModel):
    """State of one image job."""

    job_id: uuid.UUID
    status: ImageStatus
    reason: str | None
    cancel_requested: bool = Field(description="The tenant asked to cancel it; it ends `cancelled` unless it was already stored.")
    cached: bool
    credits_charged: int
    params: ImageParams
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queued_ms: int | None = Field(description="From submission to the saga starting.")
    run_ms: int | None = Field(description="From the saga starting to the final state.")
    image_url: str | None = Field(description="Presigned S3 URL of the PNG (succeeded jobs only); it expires.")
    image_url_expires_in_s: int | None


def check_request(body: ImageRequest, settings: Settings) -> None:
    """The configured bounds and the input guardrail; 422 saying exactly what is wrong."""
    problems, bounds = [], settings.imagegen
    for name, value in (("width", body.width), ("height", body.height)):
        if value % 8 or not bounds.min_side <= value <= bounds.max_side:
            problems.append((name, f"must be a multiple of 8 between {bounds.min_side} and {bounds.max_side} (got {value})"))
    if body.steps > bounds.max_steps:
        problems.append(("steps", f"must be at most {bounds.max_steps} (got {body.steps})"))
    blocked = blocked_term(body.prompt, settings.imagegen.prompt_blocklist)
    if blocked is not None:
        problems.append(("prompt", f"refused by the input guardrail: it contains the blocked term {blocked!r}"))
    if problems:
        raise invalid(*problems)


def blocked_term(prompt: str, blocklist: list[str]) -> str | None:
    """The first blocklisted term found in the prompt as whole words (case-insensitive), if any."""
    text = " ".join(re.findall(r"\w+", prompt.casefold()))
    for term in blocklist:
        words = " ".join(re.findall(r"\w+", term.casefold()))
        if words and re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text):
            return term
    return None


def request_hash(params: ImageParams) -> str:
    """Fingerprint of a request, to refuse an Idempotency-Key reused for a different one."""
    return hashlib.sha256(params.model_dump_json().encode()).hexdigest()


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else int((end - start).total_seconds() * 1000)


def image_routes(broker: KafkaBroker, hub: LiveHub, settings: Settings, s3: S3Client) -> APIRouter:
    """The `/v1/images` routes (every one behind the API key)."""
    router = APIRouter(prefix="/v1/images", tags=["images"], responses=AUTHED)

    @router.post("", status_code=202, response_model=ImageAccepted, responses=LOCATION | responses(400, 409, 413, 422, 503))
    async def submit_image(
        body: ImageRequest,
        tenant: Caller,
        request: Request,
        response: Response,
        idempotency_key: Annotated[
            str | None,
            Header(
                max_length=200,
                description="Same key and same body: the same job, whatever its state (safe retries). "
                "Same key, another body: 409.",
            ),
        ] = None,
    ) -> ImageAccepted:
        """Queue an image job and answer at once; the saga runs behind the queue."""
        check_request(body, settings)
        params = ImageParams.model_validate(body.model_dump())
        pool = request.app.state.pool
        job_id, fingerprint = uuid.uuid4(), request_hash(params)
        if not await store.insert_job(pool, job_id, tenant.id, idempotency_key, fingerprint, params.model_dump_json()):
            existing = await store.job_by_idempotency_key(pool, tenant.id, idempotency_key)  # the key was used before
            if existing["request_hash"] != fingerprint:
                raise HTTPException(409, "this Idempotency-Key was already used for a different request; use a new key")
            job_id = existing["job_id"]
            response.headers["Location"] = f"/v1/images/{job_id}"
            if existing["status"] != "queued":
                return _accepted(job_id, existing["status"])
            # Still queued: publish again (the saga's id makes a second delivery a no-op), in
            # case the first attempt's publish failed after the row was written.
        event = ImageRequested(tenant_id=tenant.id, job_id=job_id, params=params)
        try:
            await publish_event(broker, IMAGE_REQUESTED, event)
        except Exception as error:
            if idempotency_key is None:
                await store.delete_queued_job(pool, job_id)
            raise HTTPException(
                503, "could not queue the job (event bus unavailable); retry, with an Idempotency-Key to be safe"
            ) from error
        response.headers["Location"] = f"/v1/images/{job_id}"
        return _accepted(job_id, "queued")

    async def view(row: Any) -> ImageJobView:
        url = None
        if row["status"] == "succeeded" and row["object_key"]:
            url = await asyncio.to_thread(
                s3.generate_presigned_url,
                "get_object",
                Params={"Bucket": settings.endpoints.s3_bucket, "Key": row["object_key"]},
                ExpiresIn=settings.imagegen.presign_ttl_s,
            )
        return ImageJobView(
            job_id=row["job_id"],
            status=row["status"],
            reason=row["reason"],
            cancel_requested=row["cancel_requested_at"] is not None,
            cached=row["cached"],
            credits_charged=row["credits_charged"],
            params=ImageParams.model_validate_json(row["params"]),
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            queued_ms=_ms(row["created_at"], row["started_at"]),
            run_ms=_ms(row["started_at"], row["finished_at"]),
            image_url=url,
            image_url_expires_in_s=settings.imagegen.presign_ttl_s if url else None,
        )

    @router.get("", response_model=list[ImageJobView], responses=responses(422))
    async def list_images(
        tenant: Caller, request: Request, limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first.")] = 20
    ) -> list[ImageJobView]:
        """The tenant's latest image jobs, newest first, each as `GET /v1/images/{id}` shows it."""
        return [await view(row) for row in await store.tenant_jobs(request.app.state.pool, tenant.id, limit)]

    @router.get("/{job_id}", response_model=ImageJobView, responses=responses(404, 422))
    async def get_image(job_id: uuid.UUID, tenant: Caller, request: Request) -> ImageJobView:
        """Status, timings, cost and (when done) a presigned URL. Another tenant's job is 404."""
        return await view(await _job_row(request, job_id, tenant))

    @router.post("/{job_id}/cancel", status_code=202, response_model=ImageAccepted, responses=responses(404, 409, 422, 503))
    async def cancel_image(job_id: uuid.UUID, tenant: Caller, request: Request) -> ImageAccepted:
        """Cancel a queued or running job (owner only): its saga stops, deletes the object and
        refunds the credits, and the job ends `cancelled`. 409 once it has finished; a job whose
        image is already stored finishes `succeeded`."""
        status = await store.request_cancel(request.app.state.pool, job_id, tenant.id)
        if status is None:
            raise HTTPException(404, f"no image job {job_id} for this tenant")
        if status in FINAL:
            raise HTTPException(409, f"image job {job_id} has already finished ({status}); there is nothing to cancel")
        try:
            await publish_event(broker, IMAGE_CANCEL, ImageCancelRequested(tenant_id=tenant.id, job_id=job_id))
        except Exception as error:
            # The cancel is recorded: a saga that has not charged yet will not. Retrying reaches a running one.
            raise HTTPException(
                503, "the cancel is recorded but could not reach a running job (event bus unavailable); retry"
            ) from error
        return _accepted(job_id, cast(ImageStatus, status))

    @router.get("/{job_id}/events", response_class=EventSourceResponse, responses=responses(404, 422))
    async def image_events(job_id: uuid.UUID, tenant: Caller, request: Request) -> EventSourceResponse:
        """Server-Sent Events: the job's status now, then each change, until it ends."""
        await _job_row(request, job_id, tenant)  # 404 now, not inside the stream

        async def stream() -> AsyncIterator[dict[str, str]]:
            with hub.subscribe(tenant.id) as queue:
                # Subscribed before reading the state again, so no change falls in between.
                current = await _job_row(request, job_id, tenant)
                yield {"event": "status", "data": json.dumps({"job_id": str(job_id), "status": current["status"]})}
                if current["status"] in FINAL:
                    return
                while not await request.is_disconnected():
                    try:
                        update = await asyncio.wait_for(queue.get(), timeout=1.0)
                    except TimeoutError:
                        continue
                    event = update.get("event", {})
                    if event.get("job_id") != str(job_id):
                        continue
                    yield sse_frame(update)
                    if event.get("status") in FINAL:
                        return

        return EventSourceResponse(stream(), ping=15)

    return router


def _accepted(job_id: uuid.UUID, status: ImageStatus) -> ImageAccepted:
    return ImageAccepted(
        job_id=job_id, status=status, status_url=f"/v1/images/{job_id}", events_url=f"/v1/images/{job_id}/events"
    )


async def _job_row(request: Request, job_id: uuid.UUID, tenant: Tenant) -> Any:
    row = await store.tenant_job(request.app.state.pool, job_id, tenant.id)
    if row is None:
        raise HTTPException(404, f"no image job {job_id} for this tenant")
    return row
