"""Gateway through the real stack: auth, validation, limits, docs, live updates."""

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest
import websockets

from forgeline.stack import Stack
from forgeline.tools.trace import find_traces, load_spans, render_tree
from tests.integration.conftest import new_tenant, wait_for

pytestmark = pytest.mark.integration


async def test_health_needs_no_key_but_everything_else_does(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).json()["ready"] is True
    assert "forgeline_http_request_seconds" in (await client.get("/metrics")).text
    for path in ("/v1/tenants/me", "/openapi.json", "/asyncapi.json", f"/v1/echo/{uuid.uuid4()}"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert "Bearer" in response.json()["message"]
    wrong = await client.get("/v1/tenants/me", headers={"Authorization": "Bearer fl_not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "unauthorized", "message": "unknown API key"}


async def test_me_and_documents(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    tenant, key = await new_tenant(db, credits=42)
    auth = {"Authorization": f"Bearer {key}"}
    me = (await client.get("/v1/tenants/me", headers=auth)).json()
    assert me["name"] == tenant.name and me["credits"] == 42
    openapi = (await client.get("/openapi.json", headers=auth)).json()
    assert "/v1/echo" in openapi["paths"]
    asyncapi = (await client.get("/asyncapi.json", headers=auth)).json()
    assert {"echo.requested", "echo.completed", "echo.requested.dlq"} <= set(asyncapi["channels"])
    assert "EchoRequested" in asyncapi["components"]["schemas"]


async def test_validation_and_size_errors_say_what_is_wrong(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    _, key = await new_tenant(db)
    auth = {"Authorization": f"Bearer {key}"}
    empty = await client.post("/v1/echo", json={"message": ""}, headers=auth)
    assert empty.status_code == 422
    assert empty.json()["message"] == "message: String should have at least 1 character"
    missing = await client.post("/v1/echo", json={}, headers=auth)
    assert missing.json()["message"] == "message: Field required"
    not_json = await client.post("/v1/echo", content=b"{nope", headers={**auth, "Content-Type": "application/json"})
    assert not_json.status_code == 422
    huge = await client.post("/v1/echo", json={"message": "x" * 200_000}, headers=auth)
    assert huge.status_code == 413
    assert "larger than" in huge.json()["message"]


async def test_another_tenants_echo_is_not_found(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    _, key_a = await new_tenant(db)
    _, key_b = await new_tenant(db)
    accepted = (await client.post("/v1/echo", json={"message": "mine"}, headers={"Authorization": f"Bearer {key_a}"})).json()

    async def done() -> bool:
        r = await client.get(accepted["status_url"], headers={"Authorization": f"Bearer {key_a}"})
        return r.status_code == 200

    await wait_for(done)
    other = await client.get(accepted["status_url"], headers={"Authorization": f"Bearer {key_b}"})
    assert other.status_code == 404


async def test_rate_limit_answers_429_with_retry_after(client: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    _, key = await new_tenant(db)
    auth = {"Authorization": f"Bearer {key}"}
    responses = await asyncio.gather(*(client.get("/v1/tenants/me", headers=auth) for _ in range(60)))
    limited = [r for r in responses if r.status_code == 429]
    assert limited, "60 requests at once must exceed a burst of 30"
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert "rate limit" in limited[0].json()["message"]
    _, other_key = await new_tenant(db)
    assert (await client.get("/v1/tenants/me", headers={"Authorization": f"Bearer {other_key}"})).status_code == 200


async def test_live_updates_reach_the_owning_tenant_only(client: httpx.AsyncClient, db: asyncpg.Pool, gateway_url: str) -> None:
    _, key_a = await new_tenant(db)
    _, key_b = await new_tenant(db)
    received: dict[str, list[dict[str, object]]] = {"a": [], "b": []}
    ready = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def listen(who: str, key: str) -> None:
        async with client.stream("GET", "/v1/events", headers={"Authorization": f"Bearer {key}"}, timeout=None) as stream:
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                    if event == "ready":
                        ready[who].set()
                elif line.startswith("data:") and event == "echo.completed":
                    received[who].append(json.loads(line.split(":", 1)[1]))

    ws_url = gateway_url.replace("http://", "ws://") + "/v1/ws"
    tasks = [asyncio.create_task(listen("a", key_a)), asyncio.create_task(listen("b", key_b))]
    try:
        async with websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {key_a}"}) as ws:
            assert json.loads(await ws.recv()) == {"type": "ready"}
            await asyncio.wait_for(asyncio.gather(ready["a"].wait(), ready["b"].wait()), 10)
            accepted = (
                await client.post("/v1/echo", json={"message": "live"}, headers={"Authorization": f"Bearer {key_a}"})
            ).json()
            pushed = json.loads(await asyncio.wait_for(ws.recv(), 30))
            assert pushed["topic"] == "echo.completed" and pushed["event"]["echo_id"] == accepted["echo_id"]
            await wait_for(lambda: asyncio.sleep(0, result=received["a"]))
            await asyncio.sleep(1.0)  # give a wrongly routed update time to show up
        assert [e["echo_id"] for e in received["a"]] == [accepted["echo_id"]]
        assert received["b"] == []
    finally:
        for task in tasks:
            task.cancel()
    async with websockets.connect(ws_url) as anonymous:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await anonymous.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_forgeline_trace_shows_one_tree_from_the_post_to_the_consumer(
    client: httpx.AsyncClient, db: asyncpg.Pool, stack: Stack
) -> None:
    _, key = await new_tenant(db)
    auth = {"Authorization": f"Bearer {key}"}
    accepted = (await client.post("/v1/echo", json={"message": "traced"}, headers=auth)).json()
    echo_id = accepted["echo_id"]

    async def tree() -> list[str] | None:
        spans = load_spans(stack.home / "traces")  # services flush spans every ~0.5 s
        lines = render_tree(spans, find_traces(spans, echo_id))
        return lines if any("echo: echo.completed publish" in line for line in lines) else None

    lines = await wait_for(tree, timeout_s=30, every_s=0.5)
    assert lines[0].startswith("gateway: POST /v1/echo"), lines  # the request is the root

    def depth(marker: str) -> int:
        line = next(line for line in lines if line.lstrip().startswith(marker))
        return len(line) - len(line.lstrip())

    # FastStream parents a message's publish and its processing on the message's "create" span.
    assert depth("gateway: echo.requested create") < depth("echo: echo.requested process"), lines
    assert depth("echo: echo.requested process") < depth("echo: echo.completed publish"), lines
