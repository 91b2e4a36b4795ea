"""The Ray Serve LLM application: an OpenAI-compatible ingress and a batched model deployment.

    LLMIngress (POST /llm/v1/chat/completions, GET /llm/v1/models) --handle--> LLMModel (@serve.batch)

Each request is one call into `generate_batched`, so concurrent requests (the email composers'
carts, the moderation judge's items) share one `generate` call: one forward pass per token for
the whole batch, each row held to its own JSON schema and token limit. Replicas, CPUs/GPUs and
batch size come from settings. Deploy on its own with `python -m services.llm.deploy`.
No `from __future__ import annotations`: FastAPI reads the route annotations at runtime.
"""

import asyncio
import hmac
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve.handle import DeploymentHandle

from services.common.errors import describe_validation_errors
from services.common.llm import Completion
from services.common.llm_local import Chat
from services.common.serve import builder_from_environment, model_options
from services.common.settings import Settings
from services.llm.openai_api import ChatCompletionRequest, completion_body, error_body

APP_NAME = "llm"
ROUTE_PREFIX = "/llm"

api = FastAPI(title="Forgeline LLM (OpenAI-compatible, Ray Serve)")


@api.exception_handler(RequestValidationError)
async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg")} for e in exc.errors()]
    param = ".".join(str(p) for p in errors[0]["loc"] if p != "body") if errors else None
    return JSONResponse(error_body(describe_validation_errors(errors), param=param), status_code=400)


@serve.deployment
class LLMModel:
    """SmolLM2 on the replica's device (fp16 on CUDA) with schema-constrained decoding."""

    def __init__(self, want_gpu: bool, max_batch_size: int, batch_wait_timeout_s: float) -> None:
        from services.common.llm_local import LocalModel

        self.model = LocalModel(want_gpu)
        self.generate_batched.set_max_batch_size(max_batch_size)
        self.generate_batched.set_batch_wait_timeout_s(batch_wait_timeout_s)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.05)
    async def generate_batched(self, chats: list[Chat]) -> list[tuple[Completion, int]]:
        """One generate call for every conversation that arrived together; each caller gets its
        answer and the batch size it was part of."""
        completions = await asyncio.to_thread(self.model.generate_chats, chats)
        return [(completion, len(chats)) for completion in completions]

    async def generate_one(self, chat: Chat) -> tuple[Completion, int]:
        """The same model without batching (the baseline `forgeline bench llm` compares with)."""
        [completion] = await asyncio.to_thread(self.model.generate_chats, [chat])
        return completion, 1

    def device(self) -> str:
        """Where the model runs (`cuda` or `cpu`)."""
        return self.model.device


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
    async def chat_completions(self, body: ChatCompletionRequest, request: Request, batch: bool = True) -> Any:
        """One answer to the conversation, bound to `response_format` when it names a schema.
        `?batch=false` skips batching (the benchmark's baseline)."""
        if refused := self._refused(request):
            return refused
        if body.model != self.model_name:
            message = f"model {body.model!r} is not served here; this endpoint serves {self.model_name!r}"
            return JSONResponse(error_body(message, param="model", code="model_not_found"), status_code=404)
        try:
            chat = body.chat(self.default_max_tokens, self.max_tokens_limit)
        except ValueError as error:
            return JSONResponse(error_body(str(error), param="max_tokens"), status_code=400)
        method = self.model.generate_batched if batch else self.model.generate_one
        completion, batch_size = await method.remote(chat)
        # How many requests shared the generate call: what batching bought (clients ignore it).
        return JSONResponse(completion_body(self.model_name, completion), headers={"X-Forgeline-Batch-Size": str(batch_size)})

    @api.get("/v1/models", response_model=None)
    async def models(self, request: Request) -> Any:
        """The one model this application serves."""
        if refused := self._refused(request):
            return refused
        return {"object": "list", "data": [{"id": self.model_name, "object": "model", "owned_by": "forgeline"}]}

    @api.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        """Ready when the model replica answers."""
        return {"status": "ok", "model": self.model_name, "device": await self.model.device.remote()}


def build_app(settings: Settings) -> serve.Application:
    """The application graph, sized from settings."""
    model_deployment: Any = LLMModel
    ingress_deployment: Any = LLMIngress
    model = model_deployment.options(**model_options(settings.llm)).bind(
        settings.llm.num_gpus > 0, settings.llm.max_batch_size, settings.llm.batch_wait_timeout_s
    )
    app: serve.Application = ingress_deployment.options(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=1000).bind(
        model, settings.llm.model, settings.llm.api_key, settings.llm.default_max_tokens, settings.llm.max_tokens_limit
    )
    return app


# What a RayService's `import_path` names (charts/forgeline: ray.applications).
app_builder = builder_from_environment(build_app)
