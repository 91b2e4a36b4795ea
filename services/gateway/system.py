"""What the console's System view shows: every part's readiness, each consumer group's lag,
the dead letters of every topic and this replica's recent 5xx. Plain reads of the parts'
own `/readyz`, of Kafka's offsets and of the gateway's memory; the routes are in
routes/system.py."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel, Field

from services.common.consumer import retry_group
from services.common.dlq import REPLAY_GROUP
from services.common.lag import LagReader
from services.common.settings import Settings
from services.common.topics import ALL_TOPICS, CONSUMER_GROUPS

READY_TIMEOUT_S = 2.0


class PartHealth(BaseModel):
    """One part's answer to `GET /readyz`."""

    name: str
    ready: bool
    checks: dict[str, str] = Field(description="Each dependency the part checks: `ok`, or why not.")
    detail: str | None = Field(default=None, description="Why the part did not answer, when it did not.")


class GroupLag(BaseModel):
    """How far one consumer group is behind on one topic (its retry topic counted apart)."""

    group: str
    service: str
    topic: str
    lag: int = Field(description="Records the group has not committed yet.")


class DeadLetterCount(BaseModel):
    """The dead letters of one consumed topic."""

    topic: str = Field(description="The source topic; its dead letters are in `<topic>.dlq`.")
    total: int = Field(description="Dead letters the DLQ topic holds.")
    waiting: int = Field(description="Dead letters not replayed yet.")


class ServerError(BaseModel):
    """A request this gateway replica answered with a 5xx."""

    at: datetime
    method: str
    route: str = Field(description="The route's template (no ids, no query).")
    status: int


class SystemStatus(BaseModel):
    """The platform at a glance."""

    read_at: datetime
    parts: list[PartHealth]
    consumers: list[GroupLag]
    dead_letters: list[DeadLetterCount]
    kafka_error: str | None = Field(description="Why lag and dead letters could not be read, when they could not.")
    errors: list[ServerError] = Field(description="This replica's latest 5xx answers, newest first (kept in memory).")


class RecentErrors:
    """The latest 5xx answers of this replica (route templates only: no ids, bodies or keys)."""

    def __init__(self, keep: int = 50) -> None:
        self._kept: deque[ServerError] = deque(maxlen=keep)

    def record(self, method: str, route: str, status: int) -> None:
        self._kept.appendleft(ServerError(at=datetime.now(UTC), method=method, route=route, status=status))

    def latest(self) -> list[ServerError]:
        return list(self._kept)


async def part_health(http: httpx.AsyncClient, name: str, url: str) -> PartHealth:
    """A part's readiness: a 200 whose body does not say `ready: false`. Not answering (or not
    in time) is not ready, with the reason."""
    try:
        response = await http.get(url, timeout=READY_TIMEOUT_S)
    except httpx.HTTPError as error:
        return PartHealth(name=name, ready=False, checks={}, detail=f"{type(error).__name__}: {error}"[:200])
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    raw = body.get("checks")
    checks = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    ready = response.status_code == 200 and body.get("ready", True) is not False
    return PartHealth(name=name, ready=ready, checks=checks, detail=None if ready else f"answered {response.status_code}")


async def parts_health(http: httpx.AsyncClient, parts: dict[str, str]) -> list[PartHealth]:
    """Every declared part's readiness, read at once."""
    return list(await asyncio.gather(*(part_health(http, name, url) for name, url in sorted(parts.items()))))


async def consumer_lag(reader: LagReader) -> list[GroupLag]:
    """Every registered group's lag on each topic it reads and on that topic's retry topic
    (which the consumer policy reads under a group of its own, `retry_group`)."""
    asked = [(g, g.name, [spec.name for spec in g.topics]) for g in CONSUMER_GROUPS]
    asked += [(g, retry_group(g.name), [spec.retry for spec in g.topics]) for g in CONSUMER_GROUPS]
    answers = await reader.backlogs([(kafka_group, topics) for _, kafka_group, topics in asked])
    return [
        GroupLag(group=group.name, service=group.service, topic=b.topic, lag=b.lag)
        for (group, _, _), backlogs in zip(asked, answers, strict=True)
        for b in backlogs
    ]


async def dead_letter_counts(reader: LagReader) -> list[DeadLetterCount]:
    """Every consumed topic's dead letters: all kept, and those `forgeline dlq replay` has not sent back."""
    consumed = [spec for spec in ALL_TOPICS if spec.consumed]
    [backlogs] = await reader.backlogs([(REPLAY_GROUP, [spec.dlq for spec in consumed])])
    return [DeadLetterCount(topic=spec.name, total=b.total, waiting=b.lag) for spec, b in zip(consumed, backlogs, strict=True)]


class SystemReader:
    """The System view's connections, kept between reads (an open view reads every few seconds):
    one HTTP client for the parts' readiness, and one lag reader, connected on first use and
    again after a failure. The gateway's lifespan closes it."""

    def __init__(self, settings: Settings, timeout_s: float) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.http = httpx.AsyncClient()
        self._lag: LagReader | None = None
        self._lock = asyncio.Lock()

    async def parts(self) -> list[PartHealth]:
        return await parts_health(self.http, self.settings.gateway.parts)

    async def kafka(self) -> tuple[list[GroupLag], list[DeadLetterCount]]:
        """Lag and dead letters; a failure (or `timeout_s`) drops the reader, to connect anew next time."""
        async with self._lock:
            try:
                return await asyncio.wait_for(self._read(), self.timeout_s)
            except BaseException:
                await self._drop()
                raise

    async def _read(self) -> tuple[list[GroupLag], list[DeadLetterCount]]:
        if self._lag is None:
            self._lag = await LagReader(self.settings).start()
        return await consumer_lag(self._lag), await dead_letter_counts(self._lag)

    async def _drop(self) -> None:
        lag, self._lag = self._lag, None
        if lag is not None:
            await lag.close()

    async def close(self) -> None:
        await self._drop()
        await self.http.aclose()
