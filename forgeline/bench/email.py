"""`forgeline bench email`: emails per second through the email pipeline's own parts."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

from forgeline.bench.harness import bench_stack
from forgeline.demos.narrate import Say
from forgeline.stack import Stack
from services.common.settings import Settings

EMAIL_PARTS = ("s3", "kafka", "postgres", "redis", "smtp", "email", "email-delivery")


def email(settings: Settings, *, carts: int, users: int, backend: str, progress: Say) -> dict[str, Any]:
    """`forgeline bench email`: end-to-end emails/s with one LLM backend, stage latencies, fallback rate."""
    result: dict[str, Any] = {"backend": backend, "carts": carts}
    # Every cart of the bench is meant to be sent: no frequency cap.
    with bench_stack({"EMAIL_FREQUENCY_CAP_HOURS": "0", "LLM_BACKEND": backend}, progress) as stack:
        progress("1/3 forgeline up: the email pipeline and what it needs (fresh home) ...")
        # Only the pipeline's own parts, as its pods would run: the rest of the platform idling
        # on the same two cores (14 other consumers polling) is not the pipeline's cost. Ray and
        # the moderation classifier's deployment are: every draft is scored by it.
        stack.up(only=EMAIL_PARTS + ("ray", "moderation-serve") + (("llm-serve",) if stack.llm_served() else ()))
        result.update(asyncio.run(_email_run(stack, carts, users, progress)))
    return result


async def _email_run(stack: Stack, carts: int, users: int, progress: Say) -> dict[str, Any]:
    import asyncpg
    from aiokafka import AIOKafkaProducer

    from forgeline.tools.seed import seed
    from forgeline.tools.tail import tail_consumer
    from services.common.events import CartAbandoned, CartItem
    from services.common.topics import CART_ABANDONED, EMAIL_DELIVERED, EMAIL_FAILED, EMAIL_OUTBOUND

    env = stack.endpoints_env()
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        progress(f"2/3 seeding a shop with {users} users ...")
        shop = await seed(conn, stack.home / "seed.json", users=users)
    finally:
        await conn.close()
    tenant = uuid.UUID(shop["tenant"]["id"])
    people = [u for u in shop["users"] if u["user_id"] != shop["suppressed_user_id"]]
    events = [
        CartAbandoned(
            tenant_id=tenant,
            cart_id=f"bench-{i}",
            user_id=people[i % len(people)]["user_id"],
            items=[CartItem(sku=shop["skus"][i % len(shop["skus"])]["sku"], quantity=1, unit_price=Decimal("42.00"))],
            currency="USD",
        )
        for i in range(carts)
    ]
    watch = await tail_consumer(bootstrap, (EMAIL_OUTBOUND.name, EMAIL_DELIVERED.name, EMAIL_FAILED.name))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    progress(f"3/3 {carts} carts onto cart.abandoned, waiting for every one to be sent or refused ...")
    started = time.perf_counter()
    try:
        pending = [await producer.send(CART_ABANDONED.name, e.model_dump_json().encode(), key=e.key()) for e in events]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    produced_s = time.perf_counter() - started
    stages: dict[str, list[float]] = {}
    finished: dict[str, str] = {}
    fallbacks = 0
    last_report = time.perf_counter()
    try:
        while len(finished) < carts:
            batch = await watch.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    event = json.loads(record.value or b"{}")
                    if not str(event.get("cart_id", "")).startswith("bench-"):
                        continue
                    if tp.topic == EMAIL_OUTBOUND.name:
                        fallbacks += bool(event["fallback"])
                        for name, ms in event.get("stage_ms", {}).items():
                            stages.setdefault(name, []).append(ms)
                    elif tp.topic == EMAIL_DELIVERED.name:
                        finished[event["cart_id"]] = "sent"
                        stages.setdefault("delivery", []).append(event.get("delivery_ms", 0.0))
                    else:
                        finished[event["cart_id"]] = event["reason"].split(":", 1)[0]
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                rate = len(finished) / (last_report - started)
                progress(f"    {len(finished)}/{carts} done, {rate:.1f}/s")
    finally:
        await watch.stop()
    elapsed = time.perf_counter() - started
    rate = carts / elapsed
    outcomes: dict[str, int] = {}
    for outcome in finished.values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {
        "produce_seconds": round(produced_s, 2),
        "seconds": round(elapsed, 1),
        "emails_per_s": round(rate, 1 if rate >= 1 else 3),
        "goal_emails_per_s": 110,
        "outcomes": outcomes,
        "fallback_rate": round(fallbacks / carts, 3),
        "stage_ms_p50": {name: round(statistics.median(v), 1) for name, v in stages.items()},
        "stage_ms_p95": {name: round(sorted(v)[max(0, int(len(v) * 0.95) - 1)], 1) for name, v in stages.items()},
    }
