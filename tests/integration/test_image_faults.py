"""Faults the image saga must survive, on the real stack: failures, kills and restarts."""

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from forgeline.stack import Stack
from services.common.events import ImageParams, ImageRequested
from services.common.topics import IMAGE_REQUESTED
from tests.integration.conftest import new_tenant
from tests.integration.images import body, credits, ledger, submit, tenant_objects, wait_job, wait_status


@pytest.mark.integration
async def test_permanent_failure_after_store_compensates(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool, faults: Path
) -> None:
    tenant, key = await new_tenant(db, credits=50)
    faults.write_text("imagegen.log_transaction: fail 100%\n")
    job = await wait_job(client, key, await submit(client, key, body("doomed bridge")))
    assert job["status"] == "failed"
    assert "fault flag: imagegen.log_transaction" in job["reason"]
    assert await credits(db, tenant.id) == 50  # refunded to the starting balance
    assert await ledger(db, job["job_id"]) == ["deduct", "refund"]
    assert tenant_objects(stack, tenant.id) == []  # the stored object was deleted
    assert job["image_url"] is None


@pytest.mark.integration
async def test_transient_generate_failures_retry_and_charge_once(
    client: httpx.AsyncClient, db: asyncpg.Pool, faults: Path
) -> None:
    tenant, key = await new_tenant(db, credits=50)
    faults.write_text("imagegen.generate: fail 2x\n")
    job = await wait_job(client, key, await submit(client, key, body("flaky meadow")))
    assert job["status"] == "succeeded", job
    assert await credits(db, tenant.id) == 40
    assert await ledger(db, job["job_id"]) == ["deduct"]


@pytest.mark.integration
async def test_redelivered_request_runs_one_saga(env: dict[str, str], client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    tenant, key = await new_tenant(db, credits=50)
    job_id = await submit(client, key, body("delivered twice"))
    row = await db.fetchrow("SELECT params FROM image_jobs WHERE job_id = $1", uuid.UUID(job_id))
    duplicate = ImageRequested(
        tenant_id=tenant.id, job_id=uuid.UUID(job_id), params=ImageParams.model_validate_json(row["params"])
    )
    producer = AIOKafkaProducer(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(IMAGE_REQUESTED.name, duplicate.model_dump_json().encode(), key=duplicate.key())
    finally:
        await producer.stop()
    job = await wait_job(client, key, job_id)
    assert job["status"] == "succeeded"
    await asyncio.sleep(2.0)  # give the duplicates time to do harm, if they could
    assert await credits(db, tenant.id) == 40
    assert await ledger(db, job_id) == ["deduct"]
    metrics = httpx.get(f"http://127.0.0.1:{env['FORGELINE_IMAGEGEN_PORT']}/metrics", timeout=5).text
    skipped = [
        line for line in metrics.splitlines() if line.startswith('forgeline_duplicates_skipped_total{consumer="imagegen"}')
    ]
    assert skipped and float(skipped[0].split()[-1]) >= 2


@pytest.mark.integration
async def test_cancel_inside_generate_deletes_nothing_and_refunds(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool, faults: Path
) -> None:
    tenant, key = await new_tenant(db, credits=50)
    _, other_key = await new_tenant(db, credits=50)
    faults.write_text("imagegen.generate: delay 30s\n")
    job_id = await submit(client, key, body("a cancelled orchard"))
    await wait_status(db, job_id, "running")
    while await ledger(db, job_id) != ["deduct"]:  # charged: the saga is past the charge, inside generate
        await asyncio.sleep(0.1)
    url = f"/v1/images/{job_id}/cancel"
    assert (await client.post(url, headers={"Authorization": f"Bearer {other_key}"})).status_code == 404
    response = await client.post(url, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 202, response.text
    job = await wait_job(client, key, job_id, timeout_s=60)
    assert job["status"] == "cancelled" and job["cancel_requested"] is True, job
    assert await credits(db, tenant.id) == 50
    assert await ledger(db, job_id) == ["deduct", "refund"]
    assert tenant_objects(stack, tenant.id) == []
    again = await client.post(url, headers={"Authorization": f"Bearer {key}"})
    assert again.status_code == 409 and "cancelled" in again.json()["message"]
