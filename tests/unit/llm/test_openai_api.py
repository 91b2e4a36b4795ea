"""The OpenAI-compatible request and response shapes of the LLM application (no model)."""

import json
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from services.common.llm import Completion, Delta
from services.llm.openai_api import ChatCompletionRequest, completion_body, sse_chunks

pytestmark = pytest.mark.unit

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
SCHEMA = {"type": "object", "properties": {"subject": {"type": "string"}}, "required": ["subject"]}


def ask(**fields: object) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **fields})


def test_a_json_schema_request_becomes_a_schema_bound_chat() -> None:
    request = ask(
        messages=[{"role": "developer", "content": "be brief"}, {"role": "user", "content": "subject?"}],
        max_tokens=40,
        temperature=0.7,
        response_format={"type": "json_schema", "json_schema": {"name": "email", "schema": SCHEMA, "strict": True}},
        user="someone",  # unknown fields are ignored, as OpenAI does
    )
    chat = request.chat(default_max_tokens=256, limit=1024)
    assert chat.schema == SCHEMA and chat.max_tokens == 40
    assert chat.messages == ({"role": "system", "content": "be brief"}, {"role": "user", "content": "subject?"})


def test_formats_and_token_limits() -> None:
    assert ask().chat(256, 1024).schema is None  # free text
    assert ask(response_format={"type": "json_object"}).chat(256, 1024).schema == {"type": "object"}
    assert ask().chat(256, 1024).max_tokens == 256
    assert ask(max_tokens=10, max_completion_tokens=20).chat(256, 1024).max_tokens == 20  # the newer name wins
    with pytest.raises(ValueError, match="above this deployment's limit of 100"):
        ask(max_tokens=500).chat(256, 100)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"n": 3}, "one choice per request"),
        ({"tools": [{"type": "function"}]}, "tools are not offered"),
        ({"response_format": {"type": "json_schema"}}, "needs response_format.json_schema.schema"),
        ({"response_format": {"type": "xml"}}, "json_object"),
        ({"messages": []}, "at least 1 item"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "'system', 'developer', 'user' or 'assistant'"),
        ({"max_tokens": 0}, "greater than or equal to 1"),
    ],
)
def test_what_cannot_be_honoured_is_refused_with_a_reason(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ask(**fields)


def test_the_answer_has_openai_shape_and_says_why_it_stopped() -> None:
    body = completion_body(MODEL, Completion('{"subject": "hi"}', 30, 7))
    assert body["object"] == "chat.completion" and body["model"] == MODEL and body["id"].startswith("chatcmpl-")
    assert body["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": '{"subject": "hi"}'}, "finish_reason": "stop"}
    ]
    assert body["usage"] == {"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37}
    assert completion_body(MODEL, Completion("{", 30, 16, truncated=True))["choices"][0]["finish_reason"] == "length"


async def test_a_stream_is_openai_chunks_ending_with_the_reason_the_usage_and_done() -> None:
    async def deltas() -> AsyncIterator[Delta]:
        yield Delta('{"subj', 2, prompt_tokens=30)
        yield Delta("", 1)  # a token that settles no text yet (half a character)
        yield Delta('ect": "hi"}', 4, "stop")

    events = [event async for event in sse_chunks(MODEL, deltas())]
    assert all(e.startswith("data: ") and e.endswith("\n\n") for e in events)
    assert events[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == '{"subject": "hi"}'
    assert len(chunks) == 4  # role, two texts, the end: a delta without text sends nothing
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert chunks[-1]["usage"] == {"prompt_tokens": 30, "completion_tokens": 7, "total_tokens": 37}
    assert all(c["choices"][0]["finish_reason"] is None and c["usage"] is None for c in chunks[:-1])
