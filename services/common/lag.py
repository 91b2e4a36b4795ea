"""How far consumer groups are behind, read from Kafka itself: what the console's System view,
the drills' lag probes and `forgeline dlq` show.

A group's committed offsets are fetched without joining it (joining would rebalance the
group's real consumers), through the admin client's offset fetch with the partitions named:
the embedded broker breaks the connection on the form that asks for all of a group's
partitions. Partitions and end offsets come from one consumer that belongs to no group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.common.broker import kafka_client_options
from services.common.settings import Settings


@dataclass(frozen=True)
class TopicBacklog:
    """One group's standing on one topic, summed over its partitions."""

    topic: str
    group: str
    lag: int  # records not committed by the group yet
    total: int  # records the topic holds (end offset minus the first kept offset)


class LagReader:
    """`async with LagReader(settings) as lag: await lag.backlog(group, topics)`."""

    def __init__(self, settings: Settings) -> None:
        options = kafka_client_options(settings)
        self._admin = AIOKafkaAdminClient(**options)
        self._offsets = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)

    async def start(self) -> LagReader:
        """Connect (what `async with` does)."""
        await self._admin.start()
        try:
            await self._offsets.start()
        except BaseException:
            await self._admin.close()
            raise
        return self

    async def close(self) -> None:
        """Disconnect."""
        try:
            await self._offsets.stop()
        finally:
            await self._admin.close()

    async def __aenter__(self) -> LagReader:
        return await self.start()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def _partitions(self, topic: str) -> list[TopicPartition]:
        found = self._offsets.partitions_for_topic(topic)
        if not found:
            raise ValueError(f"no topic {topic!r}")
        return [TopicPartition(topic, p) for p in sorted(found)]

    async def backlog(self, group: str, topics: Iterable[str]) -> list[TopicBacklog]:
        """Each topic's lag for `group`; a partition the group never committed counts from the
        first offset kept (where a new group starts reading)."""
        return (await self.backlogs([(group, list(topics))]))[0]

    async def backlogs(self, asked: Sequence[tuple[str, Sequence[str]]]) -> list[list[TopicBacklog]]:
        """`backlog` for several (group, topics) at once: offsets read once for every topic, and
        the groups' commits fetched side by side."""
        await self._offsets.topics()  # refreshes the metadata partitions_for_topic reads
        by_topic = {topic: self._partitions(topic) for _, topics in asked for topic in topics}
        every = [tp for partitions in by_topic.values() for tp in partitions]
        ends = await self._offsets.end_offsets(every)
        starts = await self._offsets.beginning_offsets(every)
        fetch = self._admin.list_consumer_group_offsets
        commits = await asyncio.gather(
            *(fetch(group, partitions=[tp for t in topics for tp in by_topic[t]]) for group, topics in asked)
        )
        answers = []
        for (group, topics), committed in zip(asked, commits, strict=True):
            rows = []
            for topic in topics:
                lag = 0
                for tp in by_topic[topic]:
                    at = committed.get(tp)
                    position = at.offset if at is not None and at.offset >= 0 else starts[tp]
                    # Never below zero: the embedded broker has answered an end offset one behind
                    # a commit it had just taken (seen as a lag of -1).
                    lag += max(0, ends[tp] - max(position, starts[tp]))
                total = sum(ends[tp] - starts[tp] for tp in by_topic[topic])
                rows.append(TopicBacklog(topic, group, lag, total))
            answers.append(rows)
        return answers
