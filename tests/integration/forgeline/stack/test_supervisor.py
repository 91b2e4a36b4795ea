"""The supervisor itself: stack.json, health, idempotent `up`."""

import json

import httpx
import pytest

from forgeline.stack import Stack

pytestmark = pytest.mark.integration


def test_stack_json_names_every_part_with_endpoint_pid_log_health(stack: Stack) -> None:
    state = json.loads(stack.state_file.read_text())
    expected = {"kafka", "s3", "temporal", "postgres", "redis", "ray", "smtp", "gateway", "echo", "imagegen", "imagegen-worker"}
    assert expected <= set(state["components"])
    for name, rec in state["components"].items():
        assert rec["healthy"] is True, name
        assert rec["endpoint"] and rec["log"], name
        if name in Stack.APPS:  # deployed into the Ray head: no process of its own
            assert rec["pid"] is None
        else:
            assert rec["pid"] > 0, name
    assert state["components"]["gateway"]["endpoint"].startswith("http://127.0.0.1:")
    assert state["demo_tenant"]["name"] == "demo" and state["demo_tenant"]["api_key"].startswith("fl_")


def test_the_ray_head_was_up_before_any_other_part_started(stack: Stack) -> None:
    """Its raylet aborts when the head starts beside the other parts on 2 cores (ray#65983)."""
    parts = stack.load_state()["components"]
    ray_ready = parts["ray"]["ready_at"]
    others = {name: rec["started_at"] for name, rec in parts.items() if not rec["external"] and name != "ray"}
    assert ray_ready and others
    assert all(started >= ray_ready for started in others.values()), {n: t - ray_ready for n, t in others.items()}


async def test_up_again_while_up_keeps_every_process(stack: Stack) -> None:
    before = {k: v["pid"] for k, v in stack.load_state()["components"].items()}
    await stack.up_async()
    after = {k: v["pid"] for k, v in stack.load_state()["components"].items()}
    assert before == after


async def test_status_checks_every_part_for_real(stack: Stack) -> None:
    state = await stack.status()
    assert all(rec["healthy"] and rec["running"] for rec in state["components"].values())


async def test_up_keeps_an_operator_key_for_the_consoles_admin_views(stack: Stack, client: httpx.AsyncClient) -> None:
    operator = {"Authorization": f"Bearer {stack.load_state()['ops_tenant']['api_key']}"}
    me = (await client.get("/v1/tenants/me", headers=operator)).json()
    assert me["name"] == "ops" and me["role"] == "admin"
    assert (await client.get("/v1/system", headers=operator)).status_code == 200
