"""The one LLM interface: JSON answers bound to a schema, from interchangeable backends.

* `template` — deterministic: returns the answer the caller built from its own template
  (tests, fallback, and the throughput baseline);
* `openai`   — any OpenAI-compatible endpoint at `LLM_BASE_URL` (vLLM, Ray Serve LLM, ...),
  asked for `response_format: json_schema`;
* `local`    — SmolLM2-135M-Instruct on the LLM application's engine, in-process (`llm_local.py`).

Callers validate the text with pydantic and retry within a budget (`generate_validated`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import httpx
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from services.common.settings import Settings

M = TypeVar("M", bound=BaseModel)
TOKENS = Counter("forgeline_llm_tokens_total", "Tokens used, by backend and kind (prompt, completion).", ["backend", "kind"])
INVALID_ANSWERS = Counter("forgeline_llm_invalid_answers_total", "Answers that failed schema validation.", ["backend"])


@dataclass(frozen=True)
class LLMRequest:
    """One question. `template_answer` is what the deterministic backend returns."""

    system: str
    prompt: str
    schema: dict[str, Any]
    template_answer: str
    max_tokens: int = 512


@dataclass(frozen=True)
class Completion:
    """One raw answer and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    truncated: bool = False  # stopped at max_tokens rather than at the end of the answer


FinishReason = str  # "stop" (the answer ended) | "length" (it reached its token limit) | "error" (engine only)


@dataclass
class Delta:
    """A piece of an answer being decoded: new text and tokens since the last piece, the prompt's
    size on the first piece and the finish reason on the last."""

    text: str
    tokens: int
    finish_reason: FinishReason | None = None
    prompt_tokens: int = 0


class ContextTooLongError(ValueError):
    """A prompt and its token limit do not fit the engine's cache slot (the LLM application's 400)."""


class LLMBackend(Protocol):
    """What every backend offers."""

    name: str

    async def complete(self, request: LLMRequest) -> Completion:
        """The model's raw text answer to one request."""
        ...


class TemplateBackend:
    """Deterministic: the caller's template answer, token counts estimated by words."""

    name = "template"

    async def complete(self, request: LLMRequest) -> Completion:
        """Return the template answer."""
        return Completion(request.template_answer, len(request.prompt.split()), len(request.template_answer.split()))


class OpenAICompatibleBackend:
    """`POST {LLM_BASE_URL}/chat/completions` with a JSON schema response format."""

    name = "openai"

    def __init__(self, http: httpx.AsyncClient, base_url: str, model: str, api_key: str = "") -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def complete(self, request: LLMRequest) -> Completion:
        """Ask the endpoint; a transport error or 5xx raises (the consumer policy retries)."""
        response = await self._http.post(
            self._url,
            headers=self._headers,
            json={
                "model": self._model,
                "messages": [{"role": "system", "content": request.system}, {"role": "user", "content": request.prompt}],
                "max_tokens": request.max_tokens,
                "temperature": 0.2,
                "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": request.schema}},
            },
        )
        response.raise_for_status()
        body = response.json()
        usage = body.get("usage") or {}
        return Completion(
            body["choices"][0]["message"]["content"] or "",
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )


def create_llm(settings: Settings, http: httpx.AsyncClient) -> LLMBackend:
    """The backend named by `LLM_BACKEND`."""
    if settings.llm.backend == "template":
        return TemplateBackend()
    if settings.llm.backend == "openai":
        if not settings.endpoints.llm_base_url:
            raise RuntimeError("LLM_BACKEND=openai needs LLM_BASE_URL (an OpenAI-compatible endpoint, e.g. vLLM)")
        return OpenAICompatibleBackend(http, settings.endpoints.llm_base_url, settings.llm.model, settings.llm.api_key)
    if settings.llm.backend == "local":
        from services.common.llm_local import LocalBackend

        return LocalBackend(settings.llm, settings.model_cache_dir)
    raise RuntimeError(f"LLM_BACKEND={settings.llm.backend!r} is unknown; use 'template', 'local' or 'openai'")


@dataclass
class Generation(Generic[M]):
    """The outcome of `generate_validated`: a valid answer or the reasons there is none."""

    answer: M | None
    attempts: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: list[str] = field(default_factory=list)


async def generate_validated(backend: LLMBackend, request: LLMRequest, model: type[M], max_attempts: int) -> Generation[M]:
    """Ask until the answer validates against `model`, at most `max_attempts` times."""
    outcome: Generation[M] = Generation(answer=None, attempts=0)
    for _ in range(max_attempts):
        outcome.attempts += 1
        completion = await backend.complete(request)
        outcome.prompt_tokens += completion.prompt_tokens
        outcome.completion_tokens += completion.completion_tokens
        TOKENS.labels(backend.name, "prompt").inc(completion.prompt_tokens)
        TOKENS.labels(backend.name, "completion").inc(completion.completion_tokens)
        try:
            outcome.answer = model.model_validate_json(completion.text)
            return outcome
        except ValidationError as error:
            INVALID_ANSWERS.labels(backend.name).inc()
            outcome.errors.append(_describe(error, completion.text))
    return outcome


def _describe(error: ValidationError, text: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "answer"
    return f"invalid answer ({where}: {first.get('msg')}); began {json.dumps(text[:60])}"
