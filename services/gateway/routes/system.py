"""`/v1/system`: the platform at a glance for operators (admin keys): parts' readiness, consumer
lag, dead letters with their replay, and this replica's recent 5xx. The reads are in
services/gateway/system.py.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from services.common.dlq import DeadLetter, ReplayBusyError, replay_dead_letters
from services.common.settings import Settings
from services.common.topics import ALL_TOPICS, spec_for
from services.gateway.auth import ADMIN_ROLES, ADMINS_ONLY, role_check
from services.gateway.errors import AUTHED, responses
from services.gateway.system import RecentErrors, SystemReader, SystemStatus
from services.gateway.tenants import Tenant

Operator = Annotated[Tenant, Depends(role_check(ADMIN_ROLES, "the platform's state is its operators': this needs an admin key"))]
REPLAY_TIMEOUT_S = 120.0
# The topics that have dead letters: those consumed through the retry/DLQ policy.
ConsumedTopic = StrEnum("ConsumedTopic", {spec.name: spec.name for spec in ALL_TOPICS if spec.consumed})  # type: ignore[misc]


class DeadLetterView(BaseModel):
    """A dead letter not replayed yet."""

    partition: int
    offset: int
    key: str = Field(description="The record's key: the id of what it carries (a job, a cart, an item).")
    group: str = Field(description="The consumer group that gave up on it.")
    error: str = Field(description="Why (field names and error types; no values, no addresses).")


class ReplayResult(BaseModel):
    """What a replay sent back through the topic's retry topic."""

    topic: str
    replayed: list[DeadLetterView]


def _view(letter: DeadLetter) -> DeadLetterView:
    return DeadLetterView(**asdict(letter))


async def _dead_letters(settings: Settings, topic: ConsumedTopic, dry_run: bool) -> list[DeadLetter]:
    """The topic's dead letters (replayed unless `dry_run`); the event bus down is a 503."""
    try:
        return await asyncio.wait_for(replay_dead_letters(settings, spec_for(topic.value), dry_run), REPLAY_TIMEOUT_S)
    except ReplayBusyError as error:
        raise HTTPException(409, str(error)) from error
    except (KafkaError, OSError, TimeoutError) as error:
        raise HTTPException(503, f"could not read {topic.value}.dlq ({type(error).__name__}); retry") from error


def system_routes(settings: Settings, reader: SystemReader, errors: RecentErrors) -> APIRouter:
    """The operators' view of the platform (admin keys)."""
    router = APIRouter(prefix="/v1/system", tags=["system"], responses=AUTHED | responses(403))

    @router.get("", response_model=SystemStatus, openapi_extra=ADMINS_ONLY)
    async def system_status(operator: Operator) -> SystemStatus:
        """Every part's readiness, each consumer group's lag (topic and retry topic), the dead
        letters of every consumed topic (all kept, and those not replayed), and this gateway
        replica's latest 5xx. Lag and dead letters are read from Kafka; when it cannot be read,
        `kafka_error` says why and the rest is still answered."""
        kafka = asyncio.create_task(reader.kafka())
        parts = await reader.parts()
        try:
            consumers, letters = await kafka
            kafka_error = None
        except (KafkaError, OSError, TimeoutError, ValueError) as error:
            consumers, letters, kafka_error = [], [], f"{type(error).__name__}: {error}"[:300]
        return SystemStatus(
            read_at=datetime.now(UTC),
            parts=parts,
            consumers=consumers,
            dead_letters=letters,
            kafka_error=kafka_error,
            errors=errors.latest(),
        )

    @router.get(
        "/dead-letters/{topic}", response_model=list[DeadLetterView], responses=responses(422, 503), openapi_extra=ADMINS_ONLY
    )
    async def list_dead_letters(operator: Operator, topic: ConsumedTopic) -> list[DeadLetterView]:
        """The topic's dead letters not replayed yet, oldest first, with the group that gave up
        on each and why."""
        return [_view(letter) for letter in await _dead_letters(settings, topic, dry_run=True)]

    @router.post(
        "/dead-letters/{topic}/replay",
        response_model=ReplayResult,
        responses=responses(409, 422, 503),
        openapi_extra=ADMINS_ONLY,
    )
    async def replay_topic_dead_letters(operator: Operator, topic: ConsumedTopic) -> ReplayResult:
        """Send every dead letter of the topic not replayed before back through its retry topic,
        to the group that gave up on it, with a fresh retry budget (`forgeline dlq replay`). Fix
        the cause first: what fails again is dead-lettered again. 409 while another replay of
        the topic runs."""
        letters = await _dead_letters(settings, topic, dry_run=False)
        return ReplayResult(topic=topic.value, replayed=[_view(letter) for letter in letters])

    return router
