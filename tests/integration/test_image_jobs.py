"""Image jobs through the real stack: gateway -> Kafka -> Temporal saga -> Ray Serve -> S3."""

import json
import uuid

import asyncpg
import httpx
import pytest

from forgeline.stack import Stack
from tests.integration.conftest import new_tenant
from tests.integration.images import body, credits, ledger, submit, tenant_objects, wait_job

pytestmark = pytest.mark.integration


async def test_job_succeeds_with_png_charge_and_presigned_url(stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    tenant, key = await new_tenant(db, credits=100)
    job_id = await submit(client, key, body("a red fox in snow", size=64))
    job = await wait_job(client, key, job_id)
    assert job["status"] == "succeeded", job
    assert job["cached"] is False and job["credits_charged"] == 10
    assert job["run_ms"] is not None and job["queued_ms"] is not None
    assert await credits(db, tenant.id) == 90
    assert await ledger(db, job_id) == ["deduct"]
    png = httpx.get(job["image_url"], timeout=10)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert tenant_objects(stack, tenant.id) == [f"tenants/{tenant.id}/images/{job_id}.png"]
    billed = await db.fetchrow("SELECT credits, cached FROM image_transactions WHERE job_id = $1", uuid.UUID(job_id))
    assert dict(billed) == {"credits": 10, "cached": False}


async def test_repeat_prompt_is_a_cache_hit_copied_into_own_prefix(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    tenant, key = await new_tenant(db, credits=100)
    first = await wait_job(client, key, await submit(client, key, body("Cached  Harbour", seed=5)))
    second = await wait_job(client, key, await submit(client, key, body("cached harbour", seed=5)))
    assert first["cached"] is False and second["cached"] is True
    assert second["credits_charged"] == 1
    assert await credits(db, tenant.id) == 100 - 10 - 1
    assert len(tenant_objects(stack, tenant.id)) == 2  # the hit got its own object


async def test_cache_never_crosses_tenants_unless_both_share(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    prompt = f"private castle {uuid.uuid4().hex[:6]}"
    _, key_a = await new_tenant(db, credits=100)
    tenant_b, key_b = await new_tenant(db, credits=100)
    await wait_job(client, key_a, await submit(client, key_a, body(prompt)))
    other = await wait_job(client, key_b, await submit(client, key_b, body(prompt)))
    assert other["cached"] is False  # A's private object is never B's cache hit

    sharer_a, key_sa = await new_tenant(db, credits=100)
    sharer_b, key_sb = await new_tenant(db, credits=100)
    await db.execute("UPDATE tenants SET share_cache = true WHERE id = ANY($1::uuid[])", [sharer_a.id, sharer_b.id])
    shared_prompt = f"shared dunes {uuid.uuid4().hex[:6]}"
    await wait_job(client, key_sa, await submit(client, key_sa, body(shared_prompt)))
    hit = await wait_job(client, key_sb, await submit(client, key_sb, body(shared_prompt)))
    assert hit["cached"] is True
    assert f"/tenants/{sharer_b.id}/" in hit["image_url"]
    outsider = await wait_job(client, key_b, await submit(client, key_b, body(shared_prompt)))
    assert outsider["cached"] is False and f"/tenants/{tenant_b.id}/" in outsider["image_url"]


async def test_idempotency_key_returns_the_same_job(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    tenant, key = await new_tenant(db, credits=100)
    first = await submit(client, key, body("idempotent owl"), **{"Idempotency-Key": "order-1"})
    again = await submit(client, key, body("idempotent owl"), **{"Idempotency-Key": "order-1"})
    assert first == again
    conflict = await client.post(
        "/v1/images",
        json=body("another owl"),
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "order-1"},
    )
    assert conflict.status_code == 409 and "Idempotency-Key" in conflict.json()["message"]
    await wait_job(client, key, first)
    assert await db.fetchval("SELECT count(*) FROM image_jobs WHERE tenant_id = $1", tenant.id) == 1
    assert await credits(db, tenant.id) == 90


async def test_no_credits_is_rejected_with_reason(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    tenant, key = await new_tenant(db, credits=3)
    job = await wait_job(client, key, await submit(client, key, body("too expensive")))
    assert job["status"] == "rejected"
    assert "not enough credits" in job["reason"] and "has 3" in job["reason"]
    assert await credits(db, tenant.id) == 3
    assert job["image_url"] is None


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({**body(), "prompt": ""}, "prompt"),
        ({**body(), "prompt": "   "}, "whitespace"),
        ({**body(), "prompt": "x" * 1001}, "1000"),
        ({**body(), "width": 100}, "multiple of 8"),
        ({**body(), "height": 4096}, "between"),
        ({**body(), "steps": 500}, "steps"),
        ({**body(), "colour": "red"}, "Extra inputs"),
        ({**body(), "width": "wide"}, "valid integer"),
        ({**body(), "prompt": "a scene full of GORE"}, "guardrail"),
    ],
)
async def test_bad_input_is_a_clear_4xx_and_queues_nothing(
    client: httpx.AsyncClient, db: asyncpg.Pool, payload: dict[str, object], needle: str
) -> None:
    tenant, key = await new_tenant(db, credits=100)
    response = await client.post("/v1/images", json=payload, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422, response.text
    assert needle in response.json()["message"]
    assert await db.fetchval("SELECT count(*) FROM image_jobs WHERE tenant_id = $1", tenant.id) == 0


async def test_auth_and_tenant_isolation(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    _, key = await new_tenant(db, credits=100)
    _, other_key = await new_tenant(db, credits=100)
    assert (await client.post("/v1/images", json=body())).status_code == 401
    assert (await client.post("/v1/images", json=body(), headers={"Authorization": "Bearer nope"})).status_code == 401
    job_id = await submit(client, key, body("mine only"))
    for path in (f"/v1/images/{job_id}", f"/v1/images/{job_id}/events"):
        response = await client.get(path, headers={"Authorization": f"Bearer {other_key}"})
        assert response.status_code == 404, path
    await wait_job(client, key, job_id)


async def test_events_stream_follows_the_job_to_the_end(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    _, key = await new_tenant(db, credits=100)
    job_id = await submit(client, key, body("streamed heron", size=128, steps=4))
    statuses = []
    async with client.stream("GET", f"/v1/images/{job_id}/events", headers={"Authorization": f"Bearer {key}"}) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                data = json.loads(line.removeprefix("data:").strip())
                statuses.append(data.get("status") or data.get("event", {}).get("status"))
    assert statuses[-1] == "succeeded", statuses
    assert statuses[0] in {"queued", "running", "succeeded"}


async def test_websocket_pushes_the_jobs_status_changes(gateway_url: str, client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    import asyncio

    import websockets

    _, key = await new_tenant(db, credits=100)
    _, other_key = await new_tenant(db, credits=100)
    ws_url = gateway_url.replace("http://", "ws://") + "/v1/ws"
    async with (
        websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {key}"}) as ws,
        websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {other_key}"}) as other,
    ):
        assert json.loads(await ws.recv()) == {"type": "ready"}
        assert json.loads(await other.recv()) == {"type": "ready"}
        job_id = await submit(client, key, body("pushed pelican"))
        seen = []
        while not seen or seen[-1] not in {"succeeded", "failed", "rejected"}:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["event"].get("job_id") == job_id:
                seen.append(message["event"]["status"])
        assert seen == ["running", "succeeded"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(other.recv(), 1.0)  # another tenant hears nothing of it


async def test_queue_depth_is_exported_for_autoscaling(env: dict[str, str], client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    _, key = await new_tenant(db, credits=100)
    await wait_job(client, key, await submit(client, key, body("lag probe")))
    async with httpx.AsyncClient(timeout=5) as plain:
        metrics = (await plain.get(f"http://127.0.0.1:{env['FORGELINE_IMAGEGEN_PORT']}/metrics")).text
    lag = [
        line for line in metrics.splitlines() if line.startswith("forgeline_consumer_lag{") and 'topic="image.requested"' in line
    ]
    assert lag, "no consumer-lag gauge for image.requested"
    assert all('group="imagegen"' in line for line in lag)
