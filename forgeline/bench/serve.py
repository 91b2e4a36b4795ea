"""Throughput of the Ray Serve image deployment alone, by batch size (CPU here, CUDA on a GPU node).

    python -m forgeline.bench.serve --batch-sizes 1,4,8,16 --sizes 256,512 --gpus 1

It starts a private Ray, deploys the same application `forgeline up` deploys (one replica,
`max_batch_size` = the point measured), keeps `2 x batch` requests in flight through a
deployment handle, and prints JSON: images/s and the mean batch the model actually saw.
Needs only Ray Serve, diffusers and this repo, so it also runs on a bare GPU machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from forgeline.bench.output import emit
from services.common.events import ImageParams
from services.common.settings import Settings, get_settings


async def _drive(handle: Any, params: ImageParams, total: int, concurrency: int, batched: bool) -> dict[str, float]:
    """Keep `concurrency` requests in flight until `total` are done; images/s and mean batch."""
    method = handle.generate_batched if batched else handle.generate_one
    remaining, batches = [total], []

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            _, batch_size = await method.remote(params.model_dump())
            batches.append(batch_size)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"images_per_s": round(total / elapsed, 2), "mean_batch": round(statistics.mean(batches), 2)}


@contextmanager
def private_ray(gpus: float) -> Iterator[None]:
    """A Ray of this process's own for one benchmark (a GPU when `gpus`), shut down afterwards."""
    import ray
    from ray import serve

    ray.init(num_cpus=max(2, os.cpu_count() or 2), num_gpus=1 if gpus else 0, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        serve.shutdown()
        ray.shutdown()


def measure(
    batch_sizes: list[int],
    sizes: list[int],
    steps: int,
    gpus: float,
    rounds: int,
    model_path: Path | None,
    unbatched_baseline: bool,
) -> dict[str, Any]:
    """Deploy once per batch size and measure every image size; JSON-ready result."""
    from ray import serve

    from services.imagegen.model import cached_tiny_sd
    from services.imagegen.serve_app import APP_NAME, MODEL_DEPLOYMENT, build_app

    weights = f"the pipeline at {model_path}"
    if model_path is None:
        model_path, _ = cached_tiny_sd(get_settings().model_cache_dir)
        weights = "random: the tiny test pipeline (its pictures are noise); per-call overhead, not Stable Diffusion's arithmetic"
    points: list[dict[str, Any]] = []
    with private_ray(gpus):
        for batch in batch_sizes:
            settings = Settings().replace(
                imagegen={
                    "model_path": model_path,
                    "num_gpus": gpus,
                    "num_cpus": 1.0,
                    "min_replicas": 1,
                    "max_replicas": 1,
                    "max_batch_size": batch,
                    "batch_wait_timeout_s": 0.02,
                }
            )
            serve.run(build_app(settings), name=APP_NAME, route_prefix=None)
            handle = serve.get_deployment_handle(MODEL_DEPLOYMENT, app_name=APP_NAME)
            device = handle.device.remote().result()
            for size in sizes:
                params = ImageParams(prompt="a lighthouse at dusk", width=size, height=size, steps=steps, seed=1)
                asyncio.run(_drive(handle, params, total=batch, concurrency=batch, batched=True))  # warm-up
                point: dict[str, Any] = {"batch_size": batch, "size": size, "steps": steps, "device": device}
                point.update(asyncio.run(_drive(handle, params, total=rounds * batch, concurrency=2 * batch, batched=True)))
                if unbatched_baseline and batch > 1:
                    one = asyncio.run(_drive(handle, params, total=rounds * batch, concurrency=2 * batch, batched=False))
                    point["unbatched_images_per_s"] = one["images_per_s"]
                    point["batched_over_unbatched"] = round(point["images_per_s"] / one["images_per_s"], 2)
                points.append(point)
                print(json.dumps(point), file=sys.stderr, flush=True)
            serve.delete(APP_NAME)
    return {"model": str(model_path), "weights": weights, "gpus_per_replica": gpus, "points": points}


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m forgeline.bench.serve`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="1,4,8,16", help="comma-separated max_batch_size values")
    parser.add_argument("--sizes", default="256,512", help="comma-separated image sides in pixels")
    parser.add_argument("--steps", type=int, default=20, help="denoising steps per image")
    parser.add_argument("--gpus", type=float, default=0.0, help="GPUs per replica (0: CPU)")
    parser.add_argument("--rounds", type=int, default=4, help="requests measured = rounds x batch size")
    parser.add_argument("--model", type=Path, default=None, help="diffusers pipeline dir (default: a fresh tiny one)")
    parser.add_argument("--unbatched-baseline", action="store_true", help="also run generate_one at the same load")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    result = measure(
        [int(b) for b in args.batch_sizes.split(",")],
        [int(s) for s in args.sizes.split(",")],
        args.steps,
        args.gpus,
        args.rounds,
        args.model,
        args.unbatched_baseline,
    )
    emit(result, args.out)


if __name__ == "__main__":
    main()
