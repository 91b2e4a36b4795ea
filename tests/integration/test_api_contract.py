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
from tests.integration.conftest import wait_for

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


async def test_the_generated_client_speaks_to_the_real_gateway(gateway_url: str, db: asyncpg.Pool) -> None:
    """clients/python (generated, `make client`) sends an echo and reads it back, typed."""
    from forgeline_api_client import AuthenticatedClient
    from forgeline_api_client.api.echo import get_echo, post_echo
    from forgeline_api_client.models import Accepted, EchoRequest, EchoStatus, ErrorBody

    _, key = await create_tenant(db, f"client-{uuid.uuid4().hex[:6]}", 10)
    async with AuthenticatedClient(base_url=gateway_url, token=key) as client:
        accepted = await post_echo.asyncio(client=client, body=EchoRequest(message="hello from the generated client"))
        assert isinstance(accepted, Accepted), accepted

        async def done() -> EchoStatus | None:
            status = await get_echo.asyncio(accepted.echo_id, client=client)
            assert isinstance(status, EchoStatus), status  # queued from the 202 on, never a 404
            return status if status.status == "done" else None

        finished = await wait_for(done)
        assert finished.processed_by
        missing = await get_echo.asyncio(uuid.uuid4(), client=client)
        assert isinstance(missing, ErrorBody) and missing.error == "not_found"
