"""The subset of OpenAI's chat completions API the Forgeline LLM application serves.

Requests name the served model, carry messages and may bind the answer to a JSON schema
(`response_format: {"type": "json_schema", ...}`) or to any JSON object (`json_object`).
Decoding is greedy: `temperature`, `top_p` and `seed` are accepted and have no effect.
`stream: true` answers with OpenAI's server-sent `chat.completion.chunk` events. What the
application cannot honour (several choices, tools) is refused with a 400 that says so, rather
than silently ignored. Unknown fields are ignored, as OpenAI does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.llm import Completion, Delta
from services.common.llm_local import Chat


class ChatMessage(BaseModel):
    """One turn of the conversation."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str = Field(max_length=32_000)


class JsonSchemaFormat(BaseModel):
    """`response_format.json_schema`: the schema the answer must follow."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = Field(default="answer", max_length=64)
    json_schema: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    """Free text, any JSON object, or JSON that follows a schema."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_when_asked(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format.type 'json_schema' needs response_format.json_schema.schema")
        return self


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=64)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    n: int = 1
    stream: bool = False
    stream_options: dict[str, Any] | None = None  # the last chunk always carries the usage
    tools: list[Any] | None = None
    response_format: ResponseFormat = ResponseFormat()

    @model_validator(mode="after")
    def _offered(self) -> ChatCompletionRequest:
        if self.n != 1:
            raise ValueError(f"n={self.n}: this endpoint returns one choice per request; send n=1")
        if self.tools:
            raise ValueError("tools are not offered by this endpoint: ask for JSON with response_format instead")
        return self

    def chat(self, default_max_tokens: int, limit: int) -> Chat:
        """The conversation for the model. Raises ValueError when max tokens exceed `limit`."""
        wanted = self.max_completion_tokens or self.max_tokens or default_max_tokens
        if wanted > limit:
            raise ValueError(f"max_tokens {wanted} is above this deployment's limit of {limit}")
        fmt = self.response_format
        schema: dict[str, Any] | None = None
        if fmt.type == "json_object":
            schema = {"type": "object"}
        elif fmt.json_schema is not None:
            schema = fmt.json_schema.json_schema
        roles = {"developer": "system"}  # OpenAI's newer name for the system turn
        messages = tuple({"role": roles.get(m.role, m.role), "content": m.content} for m in self.messages)
        return Chat(messages, schema, wanted)


def completion_body(model: str, completion: Completion) -> dict[str, Any]:
    """The OpenAI `chat.completion` object for one answer."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": "length" if completion.truncated else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        },
    }


async def sse_chunks(model: str, deltas: AsyncIterator[Delta]) -> AsyncIterator[str]:
    """OpenAI's streaming shape: a first chunk with the role, a chunk per delta with text, a last
    chunk with the finish reason and the usage, then `data: [DONE]`."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def event(delta: dict[str, str], finish: str | None = None, usage: dict[str, int] | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return f"data: {json.dumps({**head, 'choices': [choice], 'usage': usage})}\n\n"

    yield event({"role": "assistant", "content": ""})
    prompt_tokens = tokens = 0
    async for delta in deltas:
        prompt_tokens += delta.prompt_tokens
        tokens += delta.tokens
        if delta.text:
            yield event({"content": delta.text})
        if delta.finish_reason is not None:
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": tokens, "total_tokens": prompt_tokens + tokens}
            yield event({}, delta.finish_reason, usage)
    yield "data: [DONE]\n\n"


def error_body(
    message: str, kind: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error shape, which OpenAI client libraries turn into readable exceptions."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
