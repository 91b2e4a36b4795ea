"""`forgeline prepare` (the chart's hook Job and init containers) against the real stack's
Postgres and Kafka: a fresh database is reported unprepared, prepared, then reported ready."""

import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from forgeline.stack.prepare import NotPreparedError, prepare_platform
from services.common.migrate import MIGRATIONS_DIR
from services.common.settings import Settings

pytestmark = pytest.mark.integration


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def test_a_fresh_database_is_unprepared_then_prepared_then_ready(env: dict[str, str], db: asyncpg.Pool) -> None:
    name = f"prepare_{uuid.uuid4().hex[:8]}"
    await db.execute(f'CREATE DATABASE "{name}"')
    try:
        endpoints = {
            "database_url": with_database(env["DATABASE_URL"], name),
            "kafka_bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"],
        }
        settings = Settings().replace(endpoints=endpoints)
        with pytest.raises(NotPreparedError, match="pending migrations"):
            await prepare_platform(settings, check_only=True, wait_s=0, progress=print)

        done = await prepare_platform(settings, check_only=False, wait_s=30, progress=print)
        assert len(done["migrations"]) == len([p for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql")])
        assert done["topics"] == [], "the stack created every topic already"

        assert await prepare_platform(settings, check_only=True, wait_s=0, progress=print) == {"migrations": [], "topics": []}
    finally:
        await db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_the_command_waits_then_fails_clearly_when_kafka_is_unreachable(env: dict[str, str]) -> None:
    run_env = {**os.environ, "DATABASE_URL": env["DATABASE_URL"], "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "forgeline", "prepare", "--check", "--wait", "1"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "not prepared after 1s" in done.stderr


def test_the_command_passes_on_the_running_stack(env: dict[str, str]) -> None:
    run_env = {**os.environ, "DATABASE_URL": env["DATABASE_URL"], "KAFKA_BOOTSTRAP_SERVERS": env["KAFKA_BOOTSTRAP_SERVERS"]}
    done = subprocess.run(
        [sys.executable, "-m", "forgeline", "prepare", "--check", "--wait", "30"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "migrations pending: 0; topics created: 0" in done.stderr
