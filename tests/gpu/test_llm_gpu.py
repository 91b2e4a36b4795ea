"""The LLM engine on CUDA: bf16 weights, decode steps replayed as CUDA graphs. Runs only where a
GPU is (never in CI); `forgeline bench llm --gpus 1` measures the same engine."""

import asyncio
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run it on the device machine)"),
]

FRUIT = {"type": "object", "properties": {"fruit": {"type": "string", "enum": ["apple", "pear"]}}, "required": ["fruit"]}
ASK = [{"role": "user", "content": "Apples or pears? Answer in JSON."}]


async def test_graph_replays_decode_what_eager_steps_do_and_rows_keep_their_schema(tmp_path: Path) -> None:
    from services.common.llm_local import load_smollm2
    from services.llm.engine import ChatEngine, EngineShape, complete

    model, tokenizer = load_smollm2(tmp_path, want_gpu=True, random_weights=True)
    assert next(model.parameters()).dtype == torch.bfloat16
    story = [{"role": "user", "content": "Tell me about the sea."}]
    answers = {}
    for graphs in (True, False):
        engine = ChatEngine(model, tokenizer, EngineShape(16, 512, 2048), cuda_graphs=graphs)
        try:
            answers[graphs] = await asyncio.gather(
                *(complete(engine, ASK, FRUIT, 24) for _ in range(6)), complete(engine, story, None, 40)
            )
            if graphs:
                assert engine.engine._graphs  # the steps were replayed, not launched one by one
        finally:
            engine.engine.stop()
    assert answers[True] == answers[False]
    assert all(json.loads(text)["fruit"] in ("apple", "pear") for text, *_ in answers[True][:6])
    assert answers[True][-1][2] == 40 and answers[True][-1][3] == "length"
