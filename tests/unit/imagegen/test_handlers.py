import uuid

import pytest

from services.common.events import ImageParams, ImageRequested
from services.common.settings import Settings
from services.imagegen.handlers import job_from_event, start_image_saga
from workflows.imagegen.contracts import ImageJob

pytestmark = pytest.mark.unit


class FakeStarter:
    """Remembers started workflow ids and refuses a second start of one, as Temporal does."""

    def __init__(self) -> None:
        self.started: dict[str, ImageJob] = {}

    async def start(self, job: ImageJob, task_queue: str) -> bool:
        if job.workflow_id in self.started:
            return False
        self.started[job.workflow_id] = job
        return True


def event() -> ImageRequested:
    return ImageRequested(
        tenant_id=uuid.uuid4(), job_id=uuid.uuid4(), params=ImageParams(prompt="p", width=64, height=64, steps=2)
    )


async def test_a_redelivered_request_starts_no_second_saga() -> None:
    starter, settings, requested = FakeStarter(), Settings(), event()
    assert await start_image_saga(requested, starter, settings) is True
    again = requested.model_copy(update={"event_id": uuid.uuid4()})  # a redelivery may carry a new event id
    assert await start_image_saga(again, starter, settings) is False
    assert list(starter.started) == [f"image-{requested.job_id}"]


def test_prices_and_retry_budget_are_fixed_at_start() -> None:
    settings = Settings().replace(imagegen={"price_credits": 7, "cache_price_credits": 2}, retry={"max_attempts": 5})
    job = job_from_event(event(), settings)
    assert (job.price_credits, job.cache_price_credits, job.max_attempts) == (7, 2, 5)
    assert job.object_key == f"tenants/{job.tenant_id}/images/{job.job_id}.png"
