"""Tiered moderation through the real stack: gateway/Kafka -> rules -> classifier (Ray Serve)
-> LLM judge (the scripted OpenAI-compatible endpoint) -> review queue, decisions, appeals."""

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from forgeline.stack import Stack
from services.common.retry import H_ERROR
from services.common.topics import CONTENT_SUBMITTED
from services.gateway.tenants import create_tenant
from tests.integration.conftest import new_tenant, wait_for

pytestmark = pytest.mark.integration

CLEAN = "What a lovely day at the beach with my family"
SLUR = "you are a f 4 g g 0 t"


@pytest.fixture(scope="module", autouse=True)
def moderation_on(stack: Stack) -> None:
    if "moderation-rules" not in stack.load_state()["components"]:
        pytest.skip("moderation is off: no training data (../shared/data/moderation/labeled_data.csv is absent)")


@pytest.fixture(scope="module")
async def tenant(db: asyncpg.Pool) -> dict[str, Any]:
    row, key = await new_tenant(db)
    return {"id": str(row.id), "key": key, "auth": {"Authorization": f"Bearer {key}"}}


@pytest.fixture(scope="module")
async def reviewers(db: asyncpg.Pool) -> list[dict[str, str]]:
    out = []
    for _ in range(2):
        _, key = await create_tenant(db, f"rev-{uuid.uuid4().hex[:8]}", 0, role="reviewer")
        out.append({"Authorization": f"Bearer {key}"})
    return out


def item(text: str, **changes: Any) -> dict[str, Any]:
    return {"text": text, "author_id": "author-1", "country": "US", "lang": "en", "links": [], **changes}


async def submit(client: httpx.AsyncClient, auth: dict[str, str], text: str, **changes: Any) -> str:
    response = await client.post("/v1/content", json=item(text, **changes), headers=auth)
    assert response.status_code == 202, response.text
    return str(response.json()["content_id"])


async def final(client: httpx.AsyncClient, auth: dict[str, str], content_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """The item once it is decided or waits for a human."""

    async def settled() -> dict[str, Any] | None:
        response = await client.get(f"/v1/content/{content_id}", headers=auth)
        if response.status_code == 404:  # produced straight to Kafka: tier 1 has not stored it yet
            return None
        body: dict[str, Any] = response.json()
        return body if body["status"] in ("decided", "in_review") else None

    result: dict[str, Any] = await wait_for(settled, timeout_s)
    return result


async def pick_by_outcome(env: dict[str, str], wanted: str, candidates: list[str]) -> str:
    """A text the running classifier scores into `wanted` (reject / approve / uncertain)."""
    url = env["SERVE_URL"] + "/moderation/classify"
    async with httpx.AsyncClient(timeout=60) as c:
        results = (await c.post(url, json={"texts": candidates})).json()["results"]
    for text, result in zip(candidates, results, strict=True):
        if result["outcome"] == wanted:
            return text
    pytest.fail(f"no candidate scored {wanted!r}: {[r['outcome'] for r in results]}")


GROUPS = ("women", "immigrants", "gay people", "Muslims", "black people", "trans people", "disabled people")
UNSURE = [f"judge-unsure honestly {g} are the worst, I hate it {n}" for n in range(3) for g in GROUPS]


async def test_each_tier_decides_what_it_can_and_explains_why(
    client: httpx.AsyncClient, tenant: dict[str, Any], env: dict[str, str]
) -> None:
    clean = await submit(client, tenant["auth"], CLEAN)
    slur = await submit(client, tenant["auth"], SLUR)
    link = await submit(client, tenant["auth"], "look at this", links=["https://phishing.example/login"])
    judged = await submit(
        client,
        tenant["auth"],
        await pick_by_outcome(env, "uncertain", [u.replace("judge-unsure", "judge-reject") for u in UNSURE]),
    )

    a = await final(client, tenant["auth"], clean)
    assert (a["decision"], a["tier"]) == ("approve", "rules")
    assert a["policy_version"].startswith("v1.")
    b = await final(client, tenant["auth"], slur)
    assert (b["decision"], b["tier"]) == ("reject", "rules")
    assert any("term:faggot" in r for r in b["reasons"])
    c = await final(client, tenant["auth"], link)
    assert (c["decision"], c["tier"]) == ("reject", "rules") and any("phishing.example" in r for r in c["reasons"])
    d = await final(client, tenant["auth"], judged)
    assert (d["decision"], d["tier"]) == ("reject", "judge"), d
    [decision] = d["history"]
    assert decision["scores"] is not None and decision["verdict"]["policy_clause"] == "hate"


async def test_bad_input_gets_a_clear_4xx(client: httpx.AsyncClient, tenant: dict[str, Any]) -> None:
    auth = tenant["auth"]
    cases = {
        "empty text": (item(""), 422, "text"),
        "blank text": (item("   "), 422, "blank"),
        "text over the limit": (item("x" * 5001), 422, "5000"),
        "unknown country": (item("hi", country="XX"), 422, "no moderation policy"),
        "invalid link": (item("hi", links=["javascript:alert(1)"]), 422, "http(s)"),
    }
    for name, (body, code, says) in cases.items():
        response = await client.post("/v1/content", json=body, headers=auth)
        assert response.status_code == code, (name, response.text)
        assert says in response.json()["message"], (name, response.text)
    response = await client.post("/v1/content/batch", json={"items": [item(f"hello {i}") for i in range(501)]}, headers=auth)
    assert response.status_code == 422 and "limit is 500" in response.json()["message"]
    response = await client.post("/v1/content/batch", json={"items": [item(f"hello {i}") for i in range(500)]}, headers=auth)
    assert response.status_code == 202 and len(response.json()["content_ids"]) == 500


async def test_reviewer_role_and_tenant_isolation(
    client: httpx.AsyncClient, db: asyncpg.Pool, tenant: dict[str, Any], reviewers: list[dict[str, str]]
) -> None:
    own = await submit(client, tenant["auth"], CLEAN)
    settled = await final(client, tenant["auth"], own)
    _, other_key = await new_tenant(db)
    other = {"Authorization": f"Bearer {other_key}"}
    assert (await client.get(f"/v1/content/{own}", headers=other)).status_code == 404
    assert own not in {i["content_id"] for i in (await client.get("/v1/content", headers=other)).json()}
    [latest] = (await client.get("/v1/content?limit=1", headers=tenant["auth"])).json()
    assert latest["content_id"] == own and latest["text"] == CLEAN and latest["status"] == settled["status"]
    assert (latest["decision"] or {}).get("decision") == settled["decision"]  # the current one, or none in review
    assert (await client.post(f"/v1/content/{own}/appeal", json={"reason": "x"}, headers=other)).status_code == 404
    assert (await client.get("/v1/review/queue", headers=tenant["auth"])).status_code == 403
    assert (await client.post(f"/v1/review/{own}/claim", headers=tenant["auth"])).status_code == 403
    decision = {"decision": "approve", "reason": "fine"}
    assert (await client.post(f"/v1/review/{own}/decision", json=decision, headers=tenant["auth"])).status_code == 403
    assert (await client.get("/v1/review/queue")).status_code == 401
    stolen = await client.post("/v1/content", json={**item("hello"), "content_id": own}, headers=other)
    assert stolen.status_code == 409 and "already in use" in stolen.json()["message"]
    assert (await client.get("/v1/review/queue", headers=reviewers[0])).status_code == 200


async def test_human_review_with_expiring_claims_then_an_appeal_supersedes(
    client: httpx.AsyncClient, tenant: dict[str, Any], reviewers: list[dict[str, str]], env: dict[str, str]
) -> None:
    first, second = reviewers
    content_id = await submit(client, tenant["auth"], await pick_by_outcome(env, "uncertain", UNSURE))
    waiting = await final(client, tenant["auth"], content_id)
    assert waiting["status"] == "in_review" and waiting["decision"] is None

    queue = (await client.get("/v1/review/queue", params={"limit": 200}, headers=first)).json()
    [entry] = [q for q in queue if q["content_id"] == content_id]
    assert "judge unsure" in entry["reason"] and entry["evidence"]["scores"]["hate"] >= 0
    assert [q["enqueued_at"] for q in queue] == sorted(q["enqueued_at"] for q in queue)  # oldest first

    assert (await client.post(f"/v1/review/{content_id}/claim", headers=first)).status_code == 200
    taken = await client.post(f"/v1/review/{content_id}/claim", headers=second)
    assert taken.status_code == 409 and "claimed by another reviewer" in taken.json()["message"]
    hidden = (await client.get("/v1/review/queue", params={"limit": 200}, headers=second)).json()
    assert content_id not in [q["content_id"] for q in hidden]
    reject = {"decision": "reject", "reason": "dehumanising generalisation"}
    assert (await client.post(f"/v1/review/{content_id}/decision", json=reject, headers=second)).status_code == 409

    await asyncio.sleep(4.5)  # MODERATION_REVIEW_CLAIM_TTL_S=4 in the test stack: the claim lapses
    assert (await client.post(f"/v1/review/{content_id}/claim", headers=second)).status_code == 200
    decided = await client.post(f"/v1/review/{content_id}/decision", json=reject, headers=second)
    assert decided.status_code == 200, decided.text
    view = (await client.get(f"/v1/content/{content_id}", headers=tenant["auth"])).json()
    assert (view["decision"], view["tier"], view["status"]) == ("reject", "human", "decided")

    appeal = await client.post(f"/v1/content/{content_id}/appeal", json={"reason": "satire"}, headers=tenant["auth"])
    assert appeal.status_code == 202
    lane = (await client.get("/v1/review/queue", params={"lane": "appeal", "limit": 200}, headers=first)).json()
    assert content_id in [q["content_id"] for q in lane]
    assert (await client.post(f"/v1/review/{content_id}/claim", params={"lane": "appeal"}, headers=first)).status_code == 200
    overturn = {"decision": "approve", "reason": "satire, on reflection", "lane": "appeal"}
    assert (await client.post(f"/v1/review/{content_id}/decision", json=overturn, headers=first)).status_code == 200

    view = (await client.get(f"/v1/content/{content_id}", headers=tenant["auth"])).json()
    assert (view["decision"], view["tier"], view["appealed"]) == ("approve", "appeal", True)
    original, outcome = view["history"]
    assert original["decision"] == "reject" and outcome["supersedes"] == original["decision_id"]
    again = await client.post(f"/v1/content/{content_id}/appeal", json={"reason": "again"}, headers=tenant["auth"])
    assert again.status_code == 409


async def test_the_policy_acts_per_category_and_country(
    client: httpx.AsyncClient, tenant: dict[str, Any], reviewers: list[dict[str, str]]
) -> None:
    """Sexual content is labelled in the base policy and reviewed by a person in DE's; a
    rejection names the category it rests on (policies/v1.yaml, `categories` and `countries`)."""
    text = "new photos up on my onlyfans tonight"
    labelled = await final(client, tenant["auth"], await submit(client, tenant["auth"], text))
    assert (labelled["decision"], labelled["tier"]) == ("approve", "rules")
    assert labelled["history"][0]["labels"] == ["sexual"] and labelled["history"][0]["category"] is None

    held = await final(client, tenant["auth"], await submit(client, tenant["auth"], text, country="DE"))
    assert (held["status"], held["decision"]) == ("in_review", None)
    queue = (await client.get("/v1/review/queue", params={"limit": 200}, headers=reviewers[0])).json()
    [entry] = [q for q in queue if q["content_id"] == held["content_id"]]
    assert entry["reason"] == "policy: sexual is decided by a person"
    assert [m["action"] for m in entry["evidence"]["rule_matches"]] == ["review"]

    threat = await final(client, tenant["auth"], await submit(client, tenant["auth"], "I will kill you"))
    assert (threat["decision"], threat["history"][0]["category"]) == ("reject", "threat")


async def _produce(env: dict[str, str], values: list[bytes], keys: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], acks="all")
    await producer.start()
    try:
        for value, key in zip(values, keys, strict=True):
            await producer.send_and_wait(CONTENT_SUBMITTED.name, value, key=key)
    finally:
        await producer.stop()


async def test_kafka_producers_duplicates_and_poison_messages(
    client: httpx.AsyncClient, db: asyncpg.Pool, tenant: dict[str, Any], env: dict[str, str]
) -> None:
    content_id = str(uuid.uuid4())
    event = {"event_id": str(uuid.uuid4()), "tenant_id": tenant["id"], "content_id": content_id, **item(SLUR)}
    poison = b'{"content_id": "not-a-uuid", "text": 42}'
    value = json.dumps(event).encode()
    await _produce(env, [value, value, poison], [content_id.encode(), content_id.encode(), b"poison"])

    view = await final(client, tenant["auth"], content_id)
    assert (view["decision"], view["tier"]) == ("reject", "rules")
    await asyncio.sleep(3)  # time for the duplicate to do harm, if it could
    assert await db.fetchval("SELECT count(*) FROM moderation_decisions WHERE content_id = $1", uuid.UUID(content_id)) == 1

    consumer = AIOKafkaConsumer(
        CONTENT_SUBMITTED.dlq, bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        dead = await wait_for(lambda: _dead_with(consumer, b"not-a-uuid"), 30)
        assert "ValidationError" in dict(dead.headers)[H_ERROR].decode()
    finally:
        await consumer.stop()


async def _dead_with(consumer: AIOKafkaConsumer, needle: bytes) -> Any:
    batches = await consumer.getmany(timeout_ms=500)
    return next((r for records in batches.values() for r in records if needle in (r.value or b"")), None)
