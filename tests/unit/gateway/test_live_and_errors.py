import asyncio
import uuid

import pytest

from services.common.broker import H_TENANT
from services.common.errors import describe_validation_errors
from services.common.events import EchoCompleted
from services.common.topics import ECHO_COMPLETED
from services.gateway.live import LiveHub, follow, relay
from services.gateway.tenants import generate_api_key, hash_api_key

pytestmark = pytest.mark.unit


def test_hub_delivers_only_to_the_owning_tenant() -> None:
    hub = LiveHub()
    a, b = uuid.uuid4(), uuid.uuid4()
    with hub.subscribe(a) as qa, hub.subscribe(b) as qb:
        assert hub.publish(a, {"topic": "t", "event": {"event_id": "1"}}) == 1
        assert qa.qsize() == 1
        assert qb.qsize() == 0
    assert hub.publish(a, {"topic": "t", "event": {}}) == 0


def test_hub_watches_only_tenants_with_clients_here() -> None:
    hub = LiveHub()
    a, b = uuid.uuid4(), uuid.uuid4()
    assert not hub.watches(str(a)) and not hub.watches(None), "no client: no record is worth parsing"
    with hub.subscribe(a):
        assert hub.watches(str(a))
        assert not hub.watches(str(b))
        assert hub.watches(None), "no tenant header: the event itself must be read"
        assert hub.watches("not-a-uuid"), "a malformed header must not drop an update"
    assert not hub.watches(str(a))


def test_slow_client_loses_oldest_not_newest() -> None:
    hub = LiveHub(queue_size=2)
    t = uuid.uuid4()
    with hub.subscribe(t) as q:
        for i in range(3):
            hub.publish(t, {"n": i})
        assert [q.get_nowait()["n"], q.get_nowait()["n"]] == [1, 2]


def test_validation_errors_read_as_sentences() -> None:
    text = describe_validation_errors([{"loc": ("body", "message"), "msg": "String should have at least 1 character"}])
    assert text == "message: String should have at least 1 character"


def test_api_keys_are_random_and_only_hashes_are_comparable() -> None:
    k1, k2 = generate_api_key(), generate_api_key()
    assert k1 != k2 and k1.startswith("fl_") and len(k1) > 40
    assert hash_api_key(k1) != k1 and len(hash_api_key(k1)) == 64


class FakeRecord:
    def __init__(self, topic: str, value: bytes | None, tenant: str | None) -> None:
        self.topic, self.value = topic, value
        self.headers = [] if tenant is None else [(H_TENANT, tenant.encode())]


def completed(tenant: uuid.UUID) -> bytes:
    return EchoCompleted(tenant_id=tenant, echo_id=uuid.uuid4(), message="m", processed_by="echo").model_dump_json().encode()


def test_relay_delivers_to_watched_tenants_and_skips_the_rest_unparsed() -> None:
    hub = LiveHub()
    a, b = uuid.uuid4(), uuid.uuid4()
    with hub.subscribe(a) as queue:
        records = [
            FakeRecord(ECHO_COMPLETED.name, completed(a), str(a)),
            FakeRecord(ECHO_COMPLETED.name, b"not even json", str(b)),  # another tenant's: never parsed
            FakeRecord(ECHO_COMPLETED.name, completed(a), None),  # published without the header
        ]
        assert relay(hub, records) == 2
        update = queue.get_nowait()
        assert update["topic"] == ECHO_COMPLETED.name and update["event"]["tenant_id"] == str(a)


def test_relay_counts_unreadable_records_and_goes_on() -> None:
    hub = LiveHub()
    a = uuid.uuid4()
    with hub.subscribe(a) as queue:
        records = [
            FakeRecord(ECHO_COMPLETED.name, b"{broken", str(a)),
            FakeRecord("no.such.topic", completed(a), str(a)),
            FakeRecord(ECHO_COMPLETED.name, completed(a), str(a)),
        ]
        assert relay(hub, records) == 1
        assert queue.qsize() == 1


async def test_follow_survives_read_errors_and_stops_when_cancelled() -> None:
    hub = LiveHub()
    a = uuid.uuid4()
    calls: list[int] = []

    class Reader:
        async def getmany(self, *, timeout_ms: int, max_records: int | None) -> dict[object, list[FakeRecord]]:
            calls.append(1)
            if len(calls) == 1:
                raise ConnectionError("broker went away")
            await asyncio.sleep(0.01)
            return {"tp": [FakeRecord(ECHO_COMPLETED.name, completed(a), str(a))]}

    with hub.subscribe(a) as queue:
        task = asyncio.create_task(follow(hub, Reader(), retry_after_s=0.01))
        update = await asyncio.wait_for(queue.get(), 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert update["event"]["tenant_id"] == str(a) and len(calls) >= 2


def test_a_defect_answers_500_with_the_error_model_and_no_traceback() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from services.gateway.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise KeyError("secret-column")

    answer = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal"
    assert "secret-column" not in answer.text and "Traceback" not in answer.text
