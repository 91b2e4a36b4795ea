"""The Ray Serve image application: an HTTP ingress and a batched model deployment.

    ImageIngress (FastAPI, POST /generate) --handle--> ImageModel (@serve.batch, autoscaled)

Replicas, CPUs/GPUs, batch size and wait come from settings (0 GPUs locally and in CI).
Run it on its own against a running Ray with `python -m services.imagegen.deploy`.
No `from __future__ import annotations`: FastAPI reads the route annotations at runtime.
"""

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Response
from ray import serve
from ray.serve.handle import DeploymentHandle

from services.common.events import ImageParams
from services.common.serve import builder_from_environment, model_options
from services.common.settings import Settings
from services.imagegen.model import generate_pngs, load_model

APP_NAME = "imagegen"
ROUTE_PREFIX = "/imagegen"
MODEL_DEPLOYMENT = "ImageModel"

api = FastAPI(title="Forgeline image model (Ray Serve)")


@serve.deployment
class ImageModel:
    """Holds the pipeline; `generate_batched` collects concurrent requests into one call."""

    def __init__(self, model_path: str, want_gpu: bool, max_batch_size: int, batch_wait_timeout_s: float) -> None:
        self.model = load_model(Path(model_path), want_gpu)
        # A diffusers pipeline keeps per-call state (the scheduler's timesteps): one call at a time.
        # Unguarded, concurrent unbatched calls answered 500 now and then.
        self._pipeline = asyncio.Lock()
        self.generate_batched.set_max_batch_size(max_batch_size)
        self.generate_batched.set_batch_wait_timeout_s(batch_wait_timeout_s)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.05)
    async def generate_batched(self, requests: list[dict[str, Any]]) -> list[tuple[bytes, int]]:
        """One pipeline call for the whole batch; each caller gets its PNG and the batch size."""
        params = [ImageParams.model_validate(r) for r in requests]
        return [(png, len(params)) for png in await self._generate(params)]

    async def generate_one(self, request: dict[str, Any]) -> tuple[bytes, int]:
        """The same model without batching (the baseline `forgeline bench imagegen` compares with)."""
        [png] = await self._generate([ImageParams.model_validate(request)])
        return png, 1

    async def _generate(self, params: list[ImageParams]) -> list[bytes]:
        async with self._pipeline:
            return await asyncio.to_thread(generate_pngs, self.model, params)

    def device(self) -> str:
        """Where the pipeline runs (`cuda` or `cpu`)."""
        return self.model.device


@serve.deployment
@serve.ingress(api)
class ImageIngress:
    """HTTP front of the application; it holds no model and needs no CPU of its own."""

    def __init__(self, model: DeploymentHandle) -> None:
        self.model = model

    @api.post("/generate", response_class=Response)
    async def generate(self, params: ImageParams, batch: bool = True) -> Response:
        """PNG bytes for one request; `x-batch-size` says how many requests shared the model call."""
        method = self.model.generate_batched if batch else self.model.generate_one
        png, batch_size = await method.remote(params.model_dump())
        return Response(png, media_type="image/png", headers={"x-batch-size": str(batch_size)})

    @api.get("/healthz")
    async def healthz(self) -> dict[str, str]:
        """Ready when the model replica answers (the model is loaded)."""
        return {"status": "ok", "device": await self.model.device.remote()}


def build_app(settings: Settings) -> serve.Application:
    """The application graph, sized from settings."""
    # `@serve.deployment` turns the classes into Deployments; mypy still sees the classes.
    model_deployment: Any = ImageModel
    ingress_deployment: Any = ImageIngress
    model = model_deployment.options(**model_options(settings.imagegen)).bind(
        str(settings.image_model_dir),
        settings.imagegen.num_gpus > 0,
        settings.imagegen.max_batch_size,
        settings.imagegen.batch_wait_timeout_s,
    )
    app: serve.Application = ingress_deployment.options(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=1000).bind(model)
    return app


# What a RayService's `import_path` names (charts/forgeline: ray.applications).
app_builder = builder_from_environment(build_app)
