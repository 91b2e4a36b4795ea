import uuid

import pytest
from pydantic import ValidationError

from services.common.events import EchoCompleted, EchoRequested
from services.common.topics import ALL_TOPICS, ECHO_REQUESTED, all_topic_names, spec_for

pytestmark = pytest.mark.unit


def test_contract_round_trips_through_json() -> None:
    event = EchoRequested(tenant_id=uuid.uuid4(), message="hi")
    again = EchoRequested.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.schema_version == 1
    assert again.occurred_at.tzinfo is not None


def test_contract_rejects_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError):
        EchoRequested.model_validate({"tenant_id": str(uuid.uuid4()), "message": "x", "surprise": 1})
    with pytest.raises(ValidationError):
        EchoRequested(tenant_id=uuid.uuid4(), message="")


def test_key_is_the_entity_so_order_is_kept_per_entity() -> None:
    event = EchoRequested(tenant_id=uuid.uuid4(), message="a")
    done = EchoCompleted(tenant_id=event.tenant_id, echo_id=event.echo_id, message="a", processed_by="x")
    assert event.key() == done.key() == str(event.echo_id).encode()


def test_registry_names_retry_and_dlq_topics() -> None:
    names = all_topic_names()
    assert names[ECHO_REQUESTED.retry] == names[ECHO_REQUESTED.dlq] == ECHO_REQUESTED.partitions
    assert spec_for("echo.requested.dlq") is ECHO_REQUESTED
    assert len({t.name for t in ALL_TOPICS}) == len(ALL_TOPICS)
    with pytest.raises(KeyError, match="unknown topic"):
        spec_for("nope")


def test_no_live_topic_carries_a_recipient_address() -> None:
    from services.common.topics import LIVE_TOPICS

    # The live stream reaches browsers (the console): no event on it may hold an address.
    assert [spec.name for spec in LIVE_TOPICS if "to" in spec.event.model_fields] == []
