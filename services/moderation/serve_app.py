"""The Ray Serve moderation application: an HTTP ingress and a batched classifier deployment.

    ModerationIngress (POST /classify {"texts": [...]}) --handle--> ModerationModel (@serve.batch)

Each text is its own call into `score_batched`, so texts from concurrent requests (the
tier-2 consumers' records) share one embedding + classifier call. Replicas, CPUs/GPUs and
batch size come from settings. Deploy on its own with `python -m services.moderation.deploy`.
No `from __future__ import annotations`: FastAPI reads the route annotations at runtime.
"""

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from ray import serve
from ray.serve.handle import DeploymentHandle

from services.common.serve import builder_from_environment, model_options
from services.common.settings import Settings

APP_NAME = "moderation"
ROUTE_PREFIX = "/moderation"

api = FastAPI(title="Forgeline moderation classifier (Ray Serve)")


class ClassifyRequest(BaseModel):
    """Texts to score (up to 256 per request)."""

    texts: list[str] = Field(min_length=1, max_length=256)


@serve.deployment
class ModerationModel:
    """The fine-tuned MiniLM on the replica's device, its head and its thresholds."""

    def __init__(self, model_dir: str, want_gpu: bool, max_batch_size: int, batch_wait_timeout_s: float) -> None:
        import torch

        from services.common.embeddings import MiniLMEncoder
        from services.moderation.classifier import Classifier

        self.classifier = Classifier(Path(model_dir))
        self.device = "cuda" if want_gpu and torch.cuda.is_available() else "cpu"
        self.encoder = MiniLMEncoder(self.classifier.encoder_dir, device=self.device)  # fp16 on CUDA
        self.score_batched.set_max_batch_size(max_batch_size)
        self.score_batched.set_batch_wait_timeout_s(batch_wait_timeout_s)

    def _score(self, texts: list[str]) -> list[dict[str, Any]]:
        vectors = self.encoder.encode(texts, batch_size=max(len(texts), 1))
        scores = self.classifier.score_vectors(vectors)
        thresholds = self.classifier.thresholds
        return [{"scores": s.model_dump(), "outcome": thresholds.outcome(s), "batch": len(texts)} for s in scores]

    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.02)
    async def score_batched(self, texts: list[str]) -> list[dict[str, Any]]:
        """One encoder + classifier call for every text that arrived together."""
        return await asyncio.to_thread(self._score, texts)

    async def score_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """A whole request's texts in one forward pass (a consumer's Kafka batch, a bulk job)."""
        return await asyncio.to_thread(self._score, texts)

    async def score_one(self, text: str) -> dict[str, Any]:
        """The same model without batching (the baseline `forgeline bench moderation` compares with)."""
        return (await asyncio.to_thread(self._score, [text]))[0]

    def describe(self) -> dict[str, Any]:
        """Device and thresholds (health check)."""
        return {"device": self.device, **self.classifier.describe()}


@serve.deployment
@serve.ingress(api)
class ModerationIngress:
    """HTTP front of the application; it holds no model."""

    def __init__(self, model: DeploymentHandle) -> None:
        self.model = model

    @api.post("/classify")
    async def classify(self, request: ClassifyRequest, batch: bool = True) -> dict[str, Any]:
        """Scores and outcome per text, in order. One text: batched with concurrent requests
        (`@serve.batch`); several: one forward pass for the request."""
        if len(request.texts) > 1:
            return {"results": await self.model.score_many.remote(request.texts)}
        method = self.model.score_batched if batch else self.model.score_one
        return {"results": [await method.remote(request.texts[0])]}

    @api.get("/healthz")
    async def healthz(self) -> dict[str, Any]:
        """Ready when the model replica answers."""
        return {"status": "ok", **(await self.model.describe.remote())}


def build_app(settings: Settings) -> serve.Application:
    """The application graph, sized from settings."""
    model_deployment: Any = ModerationModel
    ingress_deployment: Any = ModerationIngress
    model = model_deployment.options(**model_options(settings.moderation)).bind(
        str(settings.moderation_model_dir),
        settings.moderation.num_gpus > 0,
        settings.moderation.max_batch_size,
        settings.moderation.batch_wait_timeout_s,
    )
    app: serve.Application = ingress_deployment.options(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=2000).bind(model)
    return app


# What a RayService's `import_path` names (charts/forgeline: ray.applications).
app_builder = builder_from_environment(build_app)
