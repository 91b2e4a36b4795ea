"""One real local stack per test session, started by the same supervisor as `forgeline up`.

It runs in a temporary home on free ports (so a developer's own stack is untouched) and is
stopped, whatever happens, at the end; teardown checks that no process it started is left.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from forgeline.stack import Stack, isolated_settings
from tests.integration.scripted_llm import ScriptedLLM

# Services inherit these from the supervisor's environment: quick retries, a low rate limit.
SERVICE_ENV = {
    "RETRY_MAX_ATTEMPTS": "3",
    "RETRY_BACKOFF_INITIAL_S": "0.2",
    "RETRY_BACKOFF_MAX_S": "1.0",
    "GATEWAY_RATE_LIMIT_PER_SECOND": "20",
    "GATEWAY_RATE_LIMIT_BURST": "30",
    "MODERATION_TRAIN_LIMIT": "2000",  # a quick classifier; `forgeline eval` measures the full one
    # The quick classifier scores some of the shop's own copy above the email cut-off (the full
    # one stays far below it, `forgeline eval moderation`): only the rules refuse drafts here.
    "EMAIL_MAX_TOXICITY": "0.95",
    "MODERATION_REVIEW_CLAIM_TTL_S": "4",
    "GITHUB_WEBHOOK_SECRET": "it-webhook-secret",
    "GITHUB_REPOSITORIES": '["Codertocat/Hello-World", "forgeline/demo-shop"]',
    "GITHUB_MAX_ATTEMPTS": "2",
    "GITHUB_BACKOFF_INITIAL_S": "0.2",
    "CODEREVIEW_DEADLINE_S": "40",
    "CODEREVIEW_LLM_PASS": "true",  # against the scripted LLM (LLM_BACKEND=openai below)  # agents restarted by the drills rejoin their groups in ~10 s
}


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    home = Path(tempfile.mkdtemp(prefix="fl-it-"))  # short: Ray's socket paths must fit 107 bytes
    llm = ScriptedLLM()  # the email composer talks to it through the real `openai` backend
    llm.start()
    service_env = {**SERVICE_ENV, "LLM_BACKEND": "openai", "LLM_BASE_URL": llm.base_url}
    saved = {k: os.environ.get(k) for k in service_env}
    os.environ.update(service_env)
    settings = isolated_settings(home, faults=home / "faults")
    stack = Stack(settings, progress=print)
    pids: list[int] = []
    try:
        state = stack.up()
        for rec in state["components"].values():
            if rec.get("pid"):
                pids.append(rec["pid"])
        yield stack
    finally:
        stack.down()
        llm.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not left, f"processes left running after down: {left}"
    if request.session.testsfailed:
        print(f"\nthe stack's logs are kept for the failures: {home / 'logs'}")
    else:
        shutil.rmtree(home, ignore_errors=True)  # ~100 MB of topics, objects and Ray sessions


@pytest.fixture(scope="session")
def env(stack: Stack) -> dict[str, str]:
    return stack.endpoints_env()


@pytest.fixture(scope="session")
def gateway_url(stack: Stack) -> str:
    return str(stack.load_state()["components"]["gateway"]["endpoint"])


@pytest.fixture
def faults(stack: Stack) -> Iterator[Path]:
    path = stack.settings.faults
    assert path is not None
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
async def db(env: dict[str, str]) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(env["DATABASE_URL"], min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


async def new_tenant(db: asyncpg.Pool, credits: int = 10) -> tuple[Any, str]:
    from services.gateway.tenants import create_tenant

    return await create_tenant(db, f"t-{uuid.uuid4().hex[:8]}", credits)


async def wait_for(check: Any, timeout_s: float = 30.0, every_s: float = 0.2) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(every_s)


@pytest.fixture
async def client(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=15) as c:
        yield c


def serve_admin(env: dict[str, str], code: str) -> None:
    """Run `code` (with `serve` imported) as a driver of the stack's Ray cluster."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from services.common.serve import connect_ray; from services.common.settings import get_settings; "
            f"connect_ray(get_settings()); from ray import serve; {code}",
        ],
        env={**os.environ, **env},
        check=True,
        timeout=120,
    )
