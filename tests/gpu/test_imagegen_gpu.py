"""The image deployment on CUDA: fp16 pipeline, batched calls. Runs only where a GPU is (never in CI)."""

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run it on the device machine)"),
]


def test_model_loads_in_fp16_on_cuda_and_batches(tmp_path: Path) -> None:
    from services.common.events import ImageParams
    from services.imagegen.model import generate_pngs, load_model, write_tiny_sd

    model = load_model(write_tiny_sd(tmp_path / "tiny-sd"), want_gpu=True)
    assert model.device == "cuda"
    assert next(model.pipeline.unet.parameters()).dtype == torch.float16
    batch = [ImageParams(prompt=f"gpu {i}", width=256, height=256, steps=4, seed=i) for i in range(8)]
    pngs = generate_pngs(model, batch)
    assert len(pngs) == 8 and all(p.startswith(b"\x89PNG") for p in pngs)


def test_serve_deployment_runs_on_the_gpu_with_batching(tmp_path: Path) -> None:
    from forgeline.bench.serve import measure

    result = measure([8], [256], steps=4, gpus=0.5, rounds=2, model_path=None, unbatched_baseline=False)
    point = result["points"][0]
    assert point["device"] == "cuda"
    assert point["mean_batch"] > 1, json.dumps(point)
