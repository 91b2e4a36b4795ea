"""GitHub webhooks through the real gateway and Kafka: verified, de-duplicated, queued once."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from forgeline.tools.tail import tail_consumer
from services.codereview.webhook import sign
from services.common.events import CodeReviewRequested
from services.common.topics import REVIEW_REQUESTED

pytestmark = pytest.mark.integration

SECRET = "it-webhook-secret"  # GITHUB_WEBHOOK_SECRET of the test stack (conftest)
PAYLOADS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "github" / "pull_request"


def body_of(name: str, **changes: Any) -> bytes:
    path = PAYLOADS / f"{name}.payload.json"
    if not path.exists():
        pytest.skip(f"the GitHub payload examples are absent ({path})")
    payload = json.loads(path.read_text())
    payload.update(changes)
    return json.dumps(payload).encode()


def headers(body: bytes, delivery: str, event: str = "pull_request", secret: str = SECRET) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
    }


async def test_signed_pull_request_is_queued_once_and_everything_else_is_refused_or_ignored(
    client: httpx.AsyncClient, env: dict[str, str]
) -> None:
    watcher = await tail_consumer(env["KAFKA_BOOTSTRAP_SERVERS"], (REVIEW_REQUESTED.name,))
    try:
        opened = body_of("opened")
        delivery = str(uuid.uuid4())
        first = await client.post("/v1/webhooks/github", content=opened, headers=headers(opened, delivery))
        assert first.status_code == 202 and first.json()["key"] == "Codertocat/Hello-World#2", first.text
        again = await client.post("/v1/webhooks/github", content=opened, headers=headers(opened, delivery))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"

        refused = {
            "bad signature": (opened, headers(opened, str(uuid.uuid4()), secret="wrong"), 401),
            "no signature": (opened, {**headers(opened, str(uuid.uuid4())), "X-Hub-Signature-256": ""}, 401),
            "no delivery header": (opened, {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": sign(opened, SECRET)}, 422),
            "not JSON": (b"{oops", headers(b"{oops", str(uuid.uuid4())), 400),
        }
        other_repo = body_of("opened", repository={"full_name": "someone/else"})
        refused["unknown repository"] = (other_repo, headers(other_repo, str(uuid.uuid4())), 404)
        for name, (body, sent_headers, code) in refused.items():
            response = await client.post("/v1/webhooks/github", content=body, headers=sent_headers)
            assert response.status_code == code, (name, response.text)
            assert response.json()["message"], name

        closed = body_of("closed")
        ignored = await client.post("/v1/webhooks/github", content=closed, headers=headers(closed, str(uuid.uuid4())))
        assert ignored.status_code == 202 and ignored.json()["status"] == "ignored"

        await asyncio.sleep(3)  # time for anything wrongly queued to arrive
        queued = [
            CodeReviewRequested.model_validate_json(r.value or b"{}")
            for records in (await watcher.getmany(timeout_ms=2000)).values()
            for r in records
        ]
        assert [q.delivery_id for q in queued] == [delivery]
        assert queued[0].head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    finally:
        await watcher.stop()


async def test_webhooks_need_no_api_key_but_a_signature(client: httpx.AsyncClient) -> None:
    ping = json.dumps({"zen": "Keep it logically awesome.", "repository": {"full_name": "Codertocat/Hello-World"}}).encode()
    response = await client.post("/v1/webhooks/github", content=ping, headers=headers(ping, str(uuid.uuid4()), event="ping"))
    assert response.status_code == 200 and response.json()["status"] == "pong"
