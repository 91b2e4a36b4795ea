"""Start one saga per requested image, and cancel it when its tenant asks. The workflow id is
the business id, so a redelivered `image.requested` can never start a second saga (nor charge
twice), and a redelivered `image.cancel` cancels the same saga again (a no-op)."""

from __future__ import annotations

import logging
from typing import Protocol

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.events import ImageCancelRequested, ImageRequested
from services.common.idempotency import DUPLICATES_SKIPPED
from services.common.settings import Settings
from workflows.imagegen.contracts import WORKFLOW_NAME, ImageJob, workflow_id

log = logging.getLogger("forgeline.imagegen")


class SagaStarter(Protocol):
    """What the handler needs of a Temporal client (a fake one in unit tests)."""

    async def start(self, job: ImageJob, task_queue: str) -> bool:
        """Start the saga; False when one with this id already exists."""
        ...

    async def cancel(self, workflow_id: str) -> bool:
        """Ask the saga to cancel; False when there is no running saga with this id."""
        ...


class TemporalSagaStarter:
    """Starts `ImageJobWorkflow` on a real Temporal client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def start(self, job: ImageJob, task_queue: str) -> bool:
        """Start the saga; False when one with this id already exists."""
        try:
            await self.client.start_workflow(
                WORKFLOW_NAME,
                job,
                id=job.workflow_id,
                task_queue=task_queue,
                # A finished job's id is never reused: the same event, however late, is a no-op.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    async def cancel(self, workflow_id: str) -> bool:
        """Ask the saga to cancel; False when there is no running saga with this id."""
        try:
            await self.client.get_workflow_handle(workflow_id).cancel()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:  # not started yet, or already finished
                return False
            raise
        return True


def job_from_event(event: ImageRequested, settings: Settings) -> ImageJob:
    """The saga input: the request plus prices and retry budget fixed now."""
    return ImageJob(
        job_id=event.job_id,
        tenant_id=event.tenant_id,
        params=event.params,
        price_credits=settings.imagegen.price_credits,
        cache_price_credits=settings.imagegen.cache_price_credits,
        max_attempts=settings.retry.max_attempts,
        retry_initial_s=settings.retry.backoff_initial_s,
        retry_max_s=settings.retry.backoff_max_s,
    )


async def start_image_saga(event: ImageRequested, starter: SagaStarter, settings: Settings) -> bool:
    """Handle one `image.requested`: start saga `image-<job_id>` unless it exists. True if started."""
    started = await starter.start(job_from_event(event, settings), settings.imagegen.task_queue)
    if not started:
        DUPLICATES_SKIPPED.labels("imagegen").inc()
        log.info("saga %s already exists; duplicate delivery skipped", workflow_id(event.job_id))
    return started


async def cancel_image_saga(event: ImageCancelRequested, starter: SagaStarter) -> bool:
    """Handle one `image.cancel`: cancel saga `image-<job_id>`. A saga that does not exist yet
    needs nothing: the cancel is on the job row, and the saga refuses to charge for it."""
    cancelled = await starter.cancel(workflow_id(event.job_id))
    if not cancelled:
        log.info("no running saga %s to cancel (not started yet, or finished)", workflow_id(event.job_id))
    return cancelled
