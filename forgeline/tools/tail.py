"""Watching topics from their current ends (demos and benchmarks follow what they cause)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition


async def tail_consumer(bootstrap: str, topics: tuple[str, ...], fetch_max_wait_ms: int = 100) -> AIOKafkaConsumer:
    """A started consumer (no group) on every partition of `topics`, positioned at the ends now.

    The ends are resolved before returning, so records produced afterwards are all seen.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=fetch_max_wait_ms)
    await consumer.start()
    await consumer.topics()  # loads the metadata partitions_for_topic reads
    parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)
    return consumer
