"""The LLM engine on a tiny random Llama (SmolLM2's tokenizer, 2 layers) on the CPU: the same
tokens as transformers' greedy `generate()`, rows that join and leave a running batch, each
row's schema and limit, cancellation and refusals."""

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.llm.engine import ChatEngine, EngineShape, TextStream, complete

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.unit

FRUIT = {"type": "object", "properties": {"fruit": {"type": "string", "enum": ["apple", "pear"]}}, "required": ["fruit"]}
COUNT = {
    "type": "object",
    "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 99}, "ok": {"type": "boolean"}},
    "required": ["n", "ok"],
}
ASK = [{"role": "user", "content": "Apples or pears? Answer in JSON."}]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from transformers import AutoTokenizer

    from services.common.llm_local import smollm2_files

    return AutoTokenizer.from_pretrained(str(smollm2_files(tmp_path_factory.mktemp("models"))))


@pytest.fixture(scope="module")
def model() -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(7)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # grouped queries, as SmolLM2 (9 heads, 3 key heads)
        head_dim=16,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    # float64: rows batched together and a row alone then round alike, so a random model's
    # near-ties (a repetition penalty makes many) cannot flip a greedy pick between them.
    return LlamaForCausalLM(config).to(torch.float64).eval()


@pytest.fixture(params=[False, True], ids=["in-turn", "overlapped"])
def engine(model: Any, tokenizer: Any, request: pytest.FixtureRequest) -> Iterator[ChatEngine]:
    """Both schedules: a step's tokens handed over before the next forward (CPU), or after it
    (GPU); the CPU runs the second too, so its bookkeeping is tested here."""
    chat = ChatEngine(model, tokenizer, EngineShape(slots=4, max_context=256, prefill_tokens=64, overlap=request.param))
    try:
        yield chat
    finally:
        chat.engine.stop()


def library_greedy(model: Any, prompt: list[int], steps: int) -> list[int]:
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([prompt]), max_new_tokens=steps, do_sample=False, repetition_penalty=1.15, pad_token_id=2
        )
    tokens = out[0, len(prompt) :].tolist()
    return tokens[: tokens.index(2)] if 2 in tokens else tokens


async def tokens_of(engine: ChatEngine, messages: list[dict[str, str]], schema: dict[str, Any] | None, limit: int) -> list[int]:
    ids: list[int] = []
    prompt = engine.prompt_ids(messages)
    original = engine.engine.publish

    def spy(step: list[Any]) -> None:
        for row, tokens, _ in step:
            if row.prompt == prompt:
                ids.extend(tokens)
        original(step)

    engine.engine.publish = spy
    try:
        await complete(engine, messages, schema, limit)
    finally:
        engine.engine.publish = original
    return ids


async def test_a_row_alone_decodes_the_tokens_transformers_generate_does(engine: ChatEngine, model: Any) -> None:
    prompt = engine.prompt_ids(ASK)
    assert await tokens_of(engine, ASK, None, 24) == library_greedy(model, prompt, 24)


@pytest.mark.parametrize(("admit_every", "overlap"), [(1, False), (3, False), (1, True), (3, True)])
async def test_rows_joining_a_running_batch_do_not_change_each_others_tokens(
    model: Any, tokenizer: Any, admit_every: int, overlap: bool
) -> None:
    """Also when waiting rows are prefilled together every few steps, and with each step's
    tokens handed over after the next forward (as on a GPU)."""
    shape = EngineShape(slots=4, max_context=256, prefill_tokens=64, admit_every=admit_every, overlap=overlap)
    engine = ChatEngine(model, tokenizer, shape)
    try:
        asks = [[{"role": "user", "content": f"Tell me about basket {i}."}] for i in range(6)]  # more rows than slots
        alone = [library_greedy(model, engine.prompt_ids(ask), 20 + 3 * i) for i, ask in enumerate(asks)]

        async def later(i: int) -> tuple[str, int, int, str]:
            await asyncio.sleep(0.01 * i)  # arrive while others decode
            return await complete(engine, asks[i], None, 20 + 3 * i)

        answers = await asyncio.gather(*(later(i) for i in range(6)))
        for i, (expected, (text, _, count, finish)) in enumerate(zip(alone, answers, strict=True)):
            assert text == engine.tokenizer.decode(expected, skip_special_tokens=True)
            assert count == len(expected)
            assert finish == ("length" if count >= 20 + 3 * i else "stop")  # each row's own limit
        assert engine.stats()["active"] == 0
    finally:
        engine.engine.stop()


async def test_a_prefill_padded_to_its_graphs_bucket_leaves_the_rows_beside_it_alone(model: Any, tokenizer: Any) -> None:
    """On a GPU a prefill runs as the graph of its (rows, width) bucket: three prompts run as
    four rows of 64 tokens, and the padding row writes to the spare slot, not a live row's."""
    chat = ChatEngine(model, tokenizer, EngineShape(slots=4, max_context=256, prefill_tokens=512, overlap=True))
    chat.engine.pad_prefills = True
    try:
        asks = [[{"role": "user", "content": f"Tell me about basket {i}."}] for i in range(3)]
        expected = [library_greedy(model, chat.prompt_ids(ask), 12) for ask in [ASK, *asks]]
        decoding = asyncio.create_task(complete(chat, ASK, None, 12))
        while chat.engine.steps < 2:
            await asyncio.sleep(0.001)
        with chat.engine._wake:  # the engine waits until all three are queued: one prefill
            joining = [asyncio.create_task(complete(chat, ask, None, 12)) for ask in asks]
            while len(chat.engine._waiting) < 3:
                await asyncio.sleep(0.001)
            (held,) = [row for row in chat.engine.rows if row is not None]
            slot, prompt = held.slot, len(held.prompt)
            prompt_keys = chat.engine.keys[:, slot, :, :prompt].clone()
        answers = await asyncio.gather(decoding, *joining)
        assert chat.engine._prefill_shape(3, 40) == (4, 64)
        assert torch.equal(chat.engine.keys[:, slot, :, :prompt], prompt_keys)
        assert [text for text, *_ in answers] == [tokenizer.decode(ids, skip_special_tokens=True) for ids in expected]
    finally:
        chat.engine.stop()


async def test_waiting_rows_that_fill_a_prefill_join_without_waiting_for_their_turn(model: Any, tokenizer: Any) -> None:
    """Prefills run every `admit_every` steps while rows decode, unless the waiting rows fill a
    whole prefill: then at once."""
    chat = ChatEngine(model, tokenizer, EngineShape(slots=4, max_context=256, admit_every=1000, overlap=False))
    try:
        asks = [[{"role": "user", "content": f"Basket {i}?"}] for i in range(2)]
        chat.engine.prefill_tokens = sum(len(chat.prompt_ids(ask)) for ask in asks)  # the two fill it
        decoding = chat.stream(ASK, None, 150)
        await anext(decoding)
        alone = asyncio.create_task(complete(chat, asks[0], None, 4))
        seen = chat.engine.steps
        while chat.engine.steps < seen + 5:
            await asyncio.sleep(0.001)
        assert chat.stats()["active"] == 1 and not alone.done()  # alone it waits its turn
        await asyncio.gather(alone, complete(chat, asks[1], None, 4))  # together: at once,
        assert chat.stats()["active"] == 1  # while the first row still decodes
        finishes = [delta.finish_reason async for delta in decoding]
        assert finishes[-1] == "length"  # the first row decoded all along: no prefill was due
    finally:
        chat.engine.stop()


async def test_each_row_keeps_its_own_schema_and_limit_in_one_batch(engine: ChatEngine) -> None:
    fruit, count, short, free = await asyncio.gather(
        complete(engine, ASK, FRUIT, 40),
        complete(engine, ASK, COUNT, 40),
        complete(engine, ASK, COUNT, 3),
        complete(engine, ASK, None, 5),
    )
    assert json.loads(fruit[0])["fruit"] in ("apple", "pear") and fruit[3] == "stop"
    answer = json.loads(count[0])
    assert isinstance(answer["n"], int) and isinstance(answer["ok"], bool) and count[3] == "stop"
    assert short[2] == 3 and short[3] == "length"  # cut at its own limit, mid-JSON
    assert free[2] == 5 and free[3] == "length"


async def test_a_client_that_leaves_frees_its_row(engine: ChatEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine waits at its third step until the client has left: the row is still decoding
    # when it is cancelled, however fast this tiny model would otherwise finish it.
    gate, decode, steps = threading.Event(), engine.engine._decode, []

    def held(batch: int, length: int) -> Any:
        steps.append(batch)
        if len(steps) == 3:
            gate.wait(timeout=60)
        return decode(batch, length)

    monkeypatch.setattr(engine.engine, "_decode", held)
    stream = engine.stream(ASK, None, 200)
    received = 0
    async for delta in stream:
        received += delta.tokens
        if received >= 2:
            break
    await stream.aclose()
    assert engine.stats()["active"] == 1  # still held, mid-answer
    gate.set()
    for _ in range(200):  # the engine frees it at its next step
        if engine.stats()["active"] == 0:
            break
        await asyncio.sleep(0.01)
    assert engine.stats() | {"steps": 0} == {"active": 0, "steps": 0, "cancelled": 1}


async def test_what_the_engine_cannot_do_is_refused_with_the_reason(engine: ChatEngine) -> None:
    with pytest.raises(ValueError, match=r"cannot be enforced: Unsupported type \"strin\""):
        await complete(engine, ASK, {"type": "strin"}, 10)
    with pytest.raises(ValueError, match="exceed this deployment's context of 256 tokens"):
        await complete(engine, [{"role": "user", "content": "word " * 300}], None, 10)
    assert engine.stats()["active"] == 0


async def test_a_failed_step_fails_its_rows_and_the_engine_goes_on(engine: ChatEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    decode = engine.engine._decode
    calls = iter([RuntimeError("CUDA error: out of memory")])

    def failing_once(batch: int, length: int) -> Any:
        failure = next(calls, None)
        if failure is not None:
            raise failure
        return decode(batch, length)

    monkeypatch.setattr(engine.engine, "_decode", failing_once)
    with pytest.raises(RuntimeError, match="engine failed while decoding"):
        await complete(engine, ASK, None, 10)
    assert engine.stats()["active"] == 0
    text, _, tokens, _ = await complete(engine, ASK, FRUIT, 24)  # the next request is served
    assert json.loads(text)["fruit"] in ("apple", "pear") and tokens > 0


def test_text_comes_out_in_whole_characters(tokenizer: Any) -> None:
    ids = tokenizer.encode("tea ☕ 日本 👩‍🔬", add_special_tokens=False)
    stream = TextStream(tokenizer)
    pieces = [stream.push([token]) for token in ids]
    assert "".join(pieces) == "tea ☕ 日本 👩‍🔬"
    assert all("\ufffd" not in piece for piece in pieces)


def test_the_model_cache_holds_a_transformers_directory(tmp_path: Path) -> None:
    from services.common.llm_local import smollm2_files

    files = smollm2_files(tmp_path)
    assert {"config.json", "tokenizer.json", "chat_template.jinja"} <= {p.name for p in files.iterdir()}
