import pytest

from services.gateway.asyncapi import asyncapi_document

pytestmark = pytest.mark.unit


def test_every_pipeline_topic_and_contract_is_documented() -> None:
    doc = asyncapi_document("test")
    channels = set(doc["channels"])
    for topic in (
        "cart.abandoned",
        "cart.abandoned.dlq",
        "email.outbound",
        "email.delivered",
        "image.requested",
        "image.completed",
    ):
        assert topic in channels, topic
    cart = doc["components"]["schemas"]["CartAbandoned"]
    assert {"event_id", "occurred_at", "tenant_id", "cart_id", "user_id", "items", "currency"} <= set(cart["properties"])
    assert set(cart["required"]) >= {"tenant_id", "cart_id", "user_id", "items", "currency"}
