"""The gateway holds to its own OpenAPI document: Schemathesis, all checks, every phase
(examples, coverage, fuzzing, stateful), against the real gateway of the session's stack, with a
tenant key and then, for the review queue, a reviewer key. Any failure fails the build; its
report says which request broke which check.

The server-sent event streams are left out: they answer a stream that ends only when the
client goes, which a request-response fuzzer cannot read to its end."""

import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from services.gateway.tenants import Role, create_tenant

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

STREAMS = "^/v1/(events|images/[^/]+/events)$"
REVIEW = "^/v1/review/"


def schemathesis(gateway_url: str, key: str, *selection: str, report: Path) -> subprocess.CompletedProcess[str]:
    """One bounded, repeatable run (fixed seed, no example database) with `key`."""
    command = [str(Path(sys.executable).with_name("st")), "run", f"{gateway_url}/openapi.json", "--checks", "all"]
    command += ["--max-examples", "10", "--seed", "20261202", "--generation-database", "none"]
    command += ["--rate-limit", "auto"]  # the tenant's limit answers 429 with Retry-After: honour it
    command += ["--header", f"Authorization: Bearer {key}", "--exclude-path-regex", STREAMS, *selection]
    command += ["--report", "junit", "--report-junit-path", str(report), "--no-color"]
    return subprocess.run(
        command,
        cwd=report.parent,  # its crash cache lands there, not in the checkout
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )


@pytest.mark.parametrize("role", ["tenant", "reviewer"])
async def test_schemathesis_finds_nothing(gateway_url: str, db: asyncpg.Pool, role: Role, tmp_path: Path) -> None:
    _, key = await create_tenant(db, f"st-{role}-{uuid.uuid4().hex[:6]}", 100_000, role)
    selection = ("--include-path-regex", REVIEW) if role == "reviewer" else ("--exclude-path-regex", REVIEW)
    run = schemathesis(gateway_url, key, *selection, report=tmp_path / "junit.xml")
    print(run.stdout[-20_000:])
    assert run.returncode == 0, f"schemathesis ({role} key) found failures:\n{run.stdout[-12_000:]}\n{run.stderr[-2_000:]}"
