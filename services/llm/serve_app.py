"""The Ray Serve LLM application: an OpenAI-compatible ingress and the model deployment.

    LLMIngress (POST /llm/v1/chat/completions, GET /llm/v1/models) --stream--> LLMModel (engine)

Each request is one streaming call into `LLMModel.stream`; the replica's engine
(services/llm/engine.py) decodes every request it holds in one batch, a request joining at the
next step and leaving when it ends, each row held to its own JSON schema and token limit.
Replicas, CPUs/GPUs and rows per replica (`LLM_MAX_BATCH_SIZE`) come from settings. Deploy on
its own with `python -m services.llm.deploy`.
No `from __future__ import annotations`: FastAPI reads the route annotations at runtime.
"""

import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve
from ray.serve.handle import DeploymentHandle

from services.common.errors import describe_validation_errors
from services.common.llm import Completion, ContextTooLongError, Delta
from services.common.llm_local import Chat
from services.common.serve import builder_from_environment, model_options
from services.common.settings import LlmSettings, Settings
from services.llm.openai_api import ChatCompletionRequest, completion_body, error_body, sse_chunks

APP_NAME = "llm"
ROUTE_PREFIX = "/llm"

api = FastAPI(title="Forgeline LLM (OpenAI-compatible, Ray Serve)")


@api.exception_handler(RequestValidationError)
async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg")} for e in exc.errors()]
    param = ".".join(str(p) for p in errors[0]["loc"] if p != "body") if errors else None
    return JSONResponse(error_body(describe_validation_errors(errors), param=param), status_code=400)


# Defined before the ingress: `serve.ingress` pickles the app, and what its routes call, as the
# class is decorated.
async def _chain(first: Delta, rest: Any) -> AsyncIterator[Delta]:
    """The first delta (already read) then the others; closing it early cancels the model call,
    which frees the row at the engine's next step (a client that disconnects mid-stream)."""
    finished = first.finish_reason is not None
    try:
        yield first
        if not finished:
            async for delta in rest:
                finished = delta.finish_reason is not None
                yield delta
    finally:
        if not finished:
            rest.cancel()


def _raised(error: BaseException) -> BaseException:
    """The error the model replica raised (Ray wraps it in a task error)."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else error


def _cause(error: BaseException) -> str:
    """The message of the error the model replica raised."""
    return str(_raised(error)).strip().splitlines()[-1]


@serve.deployment
class LLMModel:
    """SmolLM2 on the replica's device (bf16 on CUDA) behind the engine: continuous batching,
    schema-bound decoding, deltas as they are decoded."""

    def __init__(self, llm: LlmSettings, model_cache: str) -> None:
        from ray.serve import metrics

        from services.common.llm_local import chat_engine

        self.chat = chat_engine(llm, Path(model_cache))
        # Ray Serve tags them with the application and replica; the Ray head's scrape has them.
        self.rows_active = metrics.Gauge("forgeline_llm_rows_active", description="Rows the LLM engine decodes now.")
        self.rows_per_step = metrics.Gauge(
            "forgeline_llm_rows_per_step", description="Rows per decode step since the last report: what batching packs together."
        )
        self._reported = (0, 0)

    async def stream(self, chat: Chat) -> AsyncIterator[Delta]:
        """The answer's deltas; cancelling the call frees the row at the engine's next step."""
        try:
            async for delta in self.chat.stream(list(chat.messages), chat.schema, chat.max_tokens):
                yield delta
        finally:
            self._report()

    def _report(self) -> None:
        engine = self.chat.engine
        steps, rows = engine.steps - self._reported[0], engine.rows_stepped - self._reported[1]
        if steps > 0:
            self.rows_per_step.set(rows / steps)
        self._reported = (engine.steps, engine.rows_stepped)
        self.rows_active.set(engine.active())

    def health(self) -> dict[str, Any]:
        """Where the model runs and what the engine is doing."""
        return {"device": str(self.chat.engine.device), **self.chat.stats()}


@serve.deployment
@serve.ingress(api)
class LLMIngress:
    """HTTP front of the application: authentication, validation, OpenAI shapes; no model."""

    def __init__(
        self, model: DeploymentHandle, model_name: str, api_key: str, default_max_tokens: int, max_tokens_limit: int
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.api_key = api_key
        self.default_max_tokens = default_max_tokens
        self.max_tokens_limit = max_tokens_limit

    def _refused(self, request: Request) -> JSONResponse | None:
        """401 unless the request carries the configured key (none configured: open)."""
        if not self.api_key:
            return None
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(sent.encode(), self.api_key.encode()):
            return None
        message = "missing or wrong API key: send `Authorization: Bearer <LLM_API_KEY>`"
        return JSONResponse(error_body(message, "authentication_error", code="invalid_api_key"), status_code=401)

    @api.post("/v1/chat/completions", response_model=None)
    async def chat_completions(self, body: ChatCompletionRequest, request: Request) -> Any:
        """One answer to the conversation, bound to `response_format` when it names a schema;
        with `stream: true`, OpenAI's server-sent chunks as the engine decodes them."""
        if refused := self._refused(request):
            return refused
        if body.model != self.model_name:
            message = f"model {body.model!r} is not served here; this endpoint serves {self.model_name!r}"
            return JSONResponse(error_body(message, param="model", code="model_not_found"), status_code=404)
        try:
            chat = body.chat(self.default_max_tokens, self.max_tokens_limit)
        except ValueError as error:
            return JSONResponse(error_body(str(error), param="max_tokens"), status_code=400)
        deltas = self.model.options(stream=True).stream.remote(chat)
        try:
            first: Delta = await deltas.__anext__()  # a schema or a prompt the engine refuses fails here
        except ValueError as error:
            param = "messages" if isinstance(_raised(error), ContextTooLongError) else "response_format"
            return JSONResponse(error_body(_cause(error), param=param), status_code=400)
        if body.stream:
            chunks = sse_chunks(self.model_name, _chain(first, deltas))
            return StreamingResponse(chunks, media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        parts, prompt_tokens, tokens, finish = [], 0, 0, "stop"
        async for delta in _chain(first, deltas):
            parts.append(delta.text)
            prompt_tokens += delta.prompt_tokens
            tokens += delta.tokens
            finish = delta.finish_reason or finish
        completion = Completion("".join(parts), prompt_tokens, tokens, truncated=finish == "length")
        return JSONResponse(completion_body(self.model_name, completion))

    @api.get("/v1/models", response_model=None)
    async def models(self, request: Request) -> Any:
        """The one model this application serves."""
        if refused := self._refused(request):
            return refused
        return {"object": "list", "data": [{"id": self.model_name, "object": "model", "owned_by": "forgeline"}]}

    @api.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        """Ready when the model replica answers; with the engine's rows, steps and cancellations."""
        return {"status": "ok", "model": self.model_name, **await self.model.health.remote()}


def build_app(settings: Settings) -> serve.Application:
    """The application graph, sized from settings."""
    model_deployment: Any = LLMModel
    ingress_deployment: Any = LLMIngress
    model = model_deployment.options(**model_options(settings.llm)).bind(settings.llm, str(settings.model_cache_dir))
    app: serve.Application = ingress_deployment.options(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=1000).bind(
        model, settings.llm.model, settings.llm.api_key, settings.llm.default_max_tokens, settings.llm.max_tokens_limit
    )
    return app


# What a RayService's `import_path` names (charts/forgeline: ray.applications).
app_builder = builder_from_environment(build_app)
