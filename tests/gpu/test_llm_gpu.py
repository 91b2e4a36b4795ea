"""The LLM model on CUDA: fp16 weights, a batch of schema-bound rows. Runs only where a GPU is (never in CI)."""

import json

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run it on the device machine)"),
]

FRUIT = {"type": "object", "properties": {"fruit": {"type": "string", "enum": ["apple", "pear"]}}, "required": ["fruit"]}


def test_a_batch_on_cuda_keeps_each_rows_schema_and_limit() -> None:
    from services.common.llm_local import Chat, LocalModel

    model = LocalModel(want_gpu=True)
    assert model.device == "cuda" and next(model.model.parameters()).dtype == torch.float16
    ask = ({"role": "user", "content": "Apples or pears? Answer in JSON."},)
    chats = [Chat(ask, FRUIT, 24) for _ in range(6)] + [Chat(ask, None, 5)]
    answers = model.generate_chats(chats)
    assert all(json.loads(a.text)["fruit"] in ("apple", "pear") for a in answers[:-1]), [a.text for a in answers]
    assert 0 < answers[-1].completion_tokens <= 5  # free text, stopped at its own limit
