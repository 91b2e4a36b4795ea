"""The saga's control flow against a real Temporal dev server, with stand-in activities.

The activities here only record that they ran (or fail on purpose), so each test pins one
branch: compensation order, rejection without compensation, the cache path.
"""

import asyncio
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.events import ImageParams
from workflows.imagegen.activities import CANCEL_REQUESTED, INSUFFICIENT_CREDITS
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
from workflows.imagegen.workflows import ImageJobWorkflow

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def temporal() -> AsyncIterator[Client]:
    binary = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binary if binary.exists() else shutil.which("temporal")),
        data_converter=pydantic_data_converter,
    )
    try:
        yield env.client
    finally:
        await env.shutdown()


class Script:
    """Stand-in activities: record calls; fail the named step; optionally a cache hit / no credits."""

    def __init__(
        self,
        fail: str | None = None,
        cached: bool = False,
        broke: bool = False,
        hold: str | None = None,
        refuse: str | None = None,
    ) -> None:
        self.calls: list[str] = []
        self.fail, self.cached, self.broke, self.refuse = fail, cached, broke, refuse
        self.hold = hold  # this step waits (heartbeating) until cancelled or released
        self.holding, self.release = asyncio.Event(), asyncio.Event()

    def _run(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail:
            raise ApplicationError(f"{name} broke for good", non_retryable=True)

    async def _held(self, name: str) -> None:
        if name != self.hold:
            return
        self.holding.set()
        try:
            while not self.release.is_set():
                activity.heartbeat()
                await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            self.calls.append(f"{name}:cancelled")
            raise

    def activities(self) -> list[object]:
        @activity.defn(name="mark_running")
        async def mark_running(job: ImageJob) -> None:
            self._run("mark_running")

        @activity.defn(name="find_cached")
        async def find_cached(job: ImageJob) -> CachedImage | None:
            self._run("find_cached")
            return CachedImage(source_key="tenants/x/images/old.png") if self.cached else None

        @activity.defn(name="deduct_credits")
        async def deduct_credits(charge: Charge) -> int:
            self._run(f"deduct_credits:{charge.amount}")
            if self.refuse:
                raise ApplicationError(self.refuse, type=CANCEL_REQUESTED, non_retryable=True)
            if self.broke:
                raise ApplicationError("not enough credits: ...", type=INSUFFICIENT_CREDITS, non_retryable=True)
            return 100

        @activity.defn(name="refund_credits")
        async def refund_credits(job: ImageJob) -> int:
            self._run("refund_credits")
            return 10

        @activity.defn(name="generate_image")
        async def generate_image(job: ImageJob) -> GeneratedImage:
            self._run("generate_image")
            await self._held("generate_image")
            return GeneratedImage(png=b"\x89PNG\x00\xff", batch_size=1)

        @activity.defn(name="store_image")
        async def store_image(request: StoreRequest) -> str:
            assert request.png == b"\x89PNG\x00\xff"  # bytes survive the JSON payloads
            self._run("store_image")
            return request.job.object_key

        @activity.defn(name="copy_cached_image")
        async def copy_cached_image(request: CopyRequest) -> str:
            self._run("copy_cached_image")
            return request.job.object_key

        @activity.defn(name="delete_image")
        async def delete_image(job: ImageJob) -> None:
            self._run("delete_image")

        @activity.defn(name="remember_in_cache")
        async def remember_in_cache(job: ImageJob) -> bool:
            self._run("remember_in_cache")
            return True

        @activity.defn(name="log_transaction")
        async def log_transaction(record: TransactionRecord) -> None:
            self._run("log_transaction")

        @activity.defn(name="finish_job")
        async def finish_job(outcome: Outcome) -> None:
            self._run(f"finish_job:{outcome.status}")

        return [
            mark_running,
            find_cached,
            deduct_credits,
            refund_credits,
            generate_image,
            store_image,
            copy_cached_image,
            delete_image,
            remember_in_cache,
            log_transaction,
            finish_job,
        ]


def a_job() -> ImageJob:
    return ImageJob(
        job_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        params=ImageParams(prompt="p", width=64, height=64, steps=2),
        price_credits=10,
        cache_price_credits=1,
        max_attempts=2,
        retry_initial_s=0.1,
        retry_max_s=0.2,
    )


async def run_saga(client: Client, script: Script) -> Outcome:
    job = a_job()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ImageJobWorkflow], activities=script.activities()):
        result: Outcome = await client.execute_workflow(ImageJobWorkflow.run, job, id=job.workflow_id, task_queue=queue)
        return result


async def test_happy_path_runs_every_step_in_order(temporal: Client) -> None:
    script = Script()
    outcome = await run_saga(temporal, script)
    assert outcome.status == "succeeded" and outcome.credits_charged == 10
    assert script.calls == [
        "mark_running",
        "find_cached",
        "deduct_credits:10",
        "generate_image",
        "store_image",
        "remember_in_cache",
        "log_transaction",
        "finish_job:succeeded",
    ]


async def test_failure_after_store_compensates_in_reverse(temporal: Client) -> None:
    script = Script(fail="log_transaction")
    outcome = await run_saga(temporal, script)
    assert outcome.status == "failed" and "log_transaction broke" in (outcome.reason or "")
    assert script.calls[-3:] == ["delete_image", "refund_credits", "finish_job:failed"]


async def test_failure_in_generate_refunds_without_deleting(temporal: Client) -> None:
    script = Script(fail="generate_image")
    outcome = await run_saga(temporal, script)
    assert outcome.status == "failed"
    assert script.calls[-2:] == ["refund_credits", "finish_job:failed"]
    assert "delete_image" not in script.calls and "store_image" not in script.calls


async def test_no_credits_is_rejected_with_nothing_to_undo(temporal: Client) -> None:
    script = Script(broke=True)
    outcome = await run_saga(temporal, script)
    assert outcome.status == "rejected"
    assert script.calls == ["mark_running", "find_cached", "deduct_credits:10", "finish_job:rejected"]


async def test_cache_hit_copies_charges_the_cache_price_and_skips_the_model(temporal: Client) -> None:
    script = Script(cached=True)
    outcome = await run_saga(temporal, script)
    assert outcome.status == "succeeded" and outcome.cached and outcome.credits_charged == 1
    assert "generate_image" not in script.calls
    assert script.calls[2:5] == ["deduct_credits:1", "copy_cached_image", "log_transaction"]


async def cancel_while_held(client: Client, script: Script) -> Outcome | BaseException:
    """Start the saga, cancel it once the held step runs, and return how it ended."""
    job = a_job()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ImageJobWorkflow], activities=script.activities()):
        handle = await client.start_workflow(ImageJobWorkflow.run, job, id=job.workflow_id, task_queue=queue)
        await script.holding.wait()
        await handle.cancel()
        try:
            result: Outcome = await handle.result()
            return result
        except WorkflowFailureError as error:
            return error.cause or error


async def test_cancel_inside_generate_refunds_and_ends_cancelled(temporal: Client) -> None:
    script = Script(hold="generate_image")
    ended = await cancel_while_held(temporal, script)
    assert isinstance(ended, CancelledError)  # Temporal records the saga as cancelled
    steps = [c for c in script.calls if c != "generate_image:cancelled"]  # the activity learns of it on its own time
    assert steps[-4:] == ["deduct_credits:10", "generate_image", "refund_credits", "finish_job:cancelled"]
    assert "store_image" not in steps and "delete_image" not in steps


async def test_cancel_seen_at_the_charge_ends_cancelled_with_nothing_to_undo(temporal: Client) -> None:
    script = Script(refuse="job was cancelled before it was charged")
    outcome = await run_saga(temporal, script)
    assert outcome.status == "cancelled"
    assert script.calls == ["mark_running", "find_cached", "deduct_credits:10", "finish_job:cancelled"]
