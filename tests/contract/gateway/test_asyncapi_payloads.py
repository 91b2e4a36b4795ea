"""Every topic's AsyncAPI payload schema matches what its producer puts on the wire: a sample of
each topic's contract is published through `publish_event` (FastStream's TestKafkaBroker, the
real serialisation) and the bytes that arrive are validated against the channel's payload
schema in the served AsyncAPI document. A new topic gets its sample from its contract's types."""

import datetime as dt
import types
import typing
import uuid
from decimal import Decimal
from typing import Any, Literal

import annotated_types
import jsonschema
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import BaseModel

from services.common.broker import publish_event
from services.common.events import Event
from services.common.topics import ALL_TOPICS, TopicSpec
from services.gateway.asyncapi import asyncapi_document

pytestmark = pytest.mark.contract

# Fields whose constraints a type alone does not satisfy.
KNOWN = {
    "country": "US",
    "lang": "en",
    "links": ["https://example.com/a"],
    "currency": "USD",
    "unit_price": Decimal("9.99"),
    "repo": "owner/repo",
    "head_sha": "a" * 40,
    "base_sha": "b" * 40,
}


def sample_of(annotation: Any, name: str = "", floor: int = 1) -> Any:
    """A valid value of `annotation` (the first choice of a Literal or a union, one list item;
    an integer at its lower bound `floor`)."""
    if name in KNOWN:
        return KNOWN[name]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return sample_of(args[0], name)
    if origin is Literal:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        return sample_of(next(a for a in args if a is not type(None)), name)
    if origin is list:
        return [sample_of(args[0], name)]
    if origin is dict:
        return {"a": sample_of(args[1])}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_sample(annotation)
    simple = {
        uuid.UUID: uuid.uuid4(),
        str: f"sample {name}",
        bool: False,
        int: floor,
        float: 0.5,
        dt.datetime: dt.datetime.now(dt.UTC),
    }
    return simple[annotation]


def model_sample(model: type[BaseModel]) -> Any:
    """The model with every field set, optional ones too (so their schema is exercised)."""
    values = {}
    for name, field in model.model_fields.items():
        floor = max([int(m.ge) for m in field.metadata if isinstance(m, annotated_types.Ge)] + [1])
        values[name] = sample_of(field.annotation, name, floor)
    return model.model_validate(values)


@pytest.mark.parametrize("spec", ALL_TOPICS, ids=lambda s: s.name)
async def test_what_the_producer_sends_is_what_the_document_says(spec: TopicSpec) -> None:
    document = asyncapi_document("test")
    [message] = document["channels"][spec.name]["messages"].values()
    payload = document["components"]["messages"][message["$ref"].rsplit("/", 1)[1]]["payload"]
    broker, received = KafkaBroker(), []

    @broker.subscriber(spec.name)
    async def capture(body: dict[str, Any]) -> None:  # the wire's JSON, as a consumer decodes it
        received.append(body)

    event = model_sample(spec.event)
    assert isinstance(event, Event)
    async with TestKafkaBroker(broker) as test_broker:
        await publish_event(test_broker, spec, event)
    [wire] = received
    jsonschema.validate(wire, {**payload, "components": document["components"]})
