"""The LLM engine on CUDA: bf16 weights, decode steps replayed as CUDA graphs. Runs only where a
GPU is (never in CI); `forgeline bench llm --gpus 1` measures the same engine."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run it on the device machine)"),
]

FRUIT = {"type": "object", "properties": {"fruit": {"type": "string", "enum": ["apple", "pear"]}}, "required": ["fruit"]}
ASK = [{"role": "user", "content": "Apples or pears? Answer in JSON."}]
STORY = [{"role": "user", "content": "Tell me about the sea."}]


@pytest.fixture(scope="module")
def smollm2() -> Iterator[tuple[Any, Any]]:
    """SmolLM2's shape on the GPU (random weights: the machine may lack the weights file; the
    model cache, FORGELINE_MODEL_CACHE_PATH, holds its config and tokenizer)."""
    from services.common.llm_local import load_smollm2
    from services.common.settings import Settings

    model, tokenizer = load_smollm2(Settings().model_cache_dir, want_gpu=True, random_weights=True)
    assert next(model.parameters()).dtype == torch.bfloat16
    yield model, tokenizer


async def test_a_graph_replayed_row_decodes_what_eager_steps_do(smollm2: tuple[Any, Any]) -> None:
    from services.llm.engine import ChatEngine, EngineShape, complete

    answers = []
    for graphs in (True, False):  # one row alone: the same kernels either way, so the same bits
        engine = ChatEngine(*smollm2, EngineShape(16, 512, 2048), cuda_graphs=graphs)
        try:
            answers.append(await complete(engine, STORY, None, 40))
        finally:
            engine.engine.stop()
    assert answers[0] == answers[1] and 0 < answers[0][2] <= 40


async def test_a_batch_on_graphs_keeps_each_rows_schema_and_limit(smollm2: tuple[Any, Any]) -> None:
    from services.llm.engine import ChatEngine, EngineShape, complete

    engine = ChatEngine(*smollm2, EngineShape(16, 512, 2048))
    try:
        answers = await asyncio.gather(*(complete(engine, ASK, FRUIT, 24) for _ in range(6)), complete(engine, STORY, None, 40))
    finally:
        engine.engine.stop()
    assert all(json.loads(text)["fruit"] in ("apple", "pear") for text, *_ in answers[:6])
    assert 0 < answers[-1][2] <= 40  # free text, held to its own limit
