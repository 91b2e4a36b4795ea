import uuid

import pytest

from services.common.errors import describe_validation_errors
from services.gateway.live import LiveHub
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
