"""The LLM application's engine against the libraries' paths, every point in one run on one model.

    forgeline bench llm --concurrency 1,8 --previous                       # CPU
    python -m forgeline.bench.llm --gpus 1 --concurrency 1,32,256,512      # the GPU machine

Points: transformers' own fast path (unconstrained, one fixed batch, static cache + compile on
CUDA) as the reference; with `--previous` the decoding the application had before the engine
(static batch + lm-format-enforcer); then the engine at each concurrency, streaming, with real
cart-abandonment email prompts bound to the EmailDraft schema: completion tokens/s,
generations/s, schema-valid share, time to first token and between tokens (p50/p99), and the
ratio to the reference. `--save-chats FILE` / `--chats FILE` carry the prompts to a bare GPU
machine (Ray is not needed there: the engine runs in-process); `--random-weights` measures
throughput without the weights file. `--chats FILE --answer` only answers every chat once
(the real weights) and writes the answers with their keys and the time it took: how
`forgeline eval moderation --judge-answers` gets an LLM judge's verdicts from the lent GPU.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from forgeline.bench.output import emit
from services.common.llm_local import Chat
from services.common.settings import Settings


def email_chats(count: int, max_tokens: int) -> list[Chat]:
    """`count` distinct email requests, as the composer builds them (seeded shop vocabulary)."""
    from forgeline.tools.seed import CATEGORIES, COHORTS, FIRST, TEMPLATE_LINES
    from services.email.context import CartContext, ItemLine, Promotion, Shopper
    from services.email.generation import build_request
    from services.email.retrieval import Template

    products = [(category, name) for category, names in CATEGORIES.items() for name in names]
    chats = []
    for i, (first, cohort) in zip(range(count), itertools.cycle(itertools.product(FIRST, COHORTS)), strict=False):
        category, name = products[i % len(products)]
        item = ItemLine(sku=f"S{i}", name=name, category=category, quantity=1 + i % 3, unit_price=Decimal("40"), in_stock=True)
        context = CartContext(
            tenant_id="bench",
            cart_id=f"c{i}",
            currency="USD",
            shopper=Shopper(user_id=f"u{i}", email=f"u{i}@example.com", first_name=first, last_name="X", cohort=cohort),
            items=[item],
            total=item.unit_price * item.quantity,
            past_purchases=i % 5,
            favourite_category=category,
            promotions=[Promotion(code="THANKYOU15", percent_off=15)] if i % 2 else [],
        )
        templates = [
            Template(
                template_id=f"{cohort}-{n}",
                cohort=cohort,
                subject=s,
                preheader=p,
                body=b,
                call_to_action="See your cart",
                conversion_rate=0.1,
            )
            for n, (s, p, b) in enumerate(TEMPLATE_LINES[cohort])
        ]
        chat = Chat.of(build_request(context, templates, "https://shop.forgeline.example/cart"))
        chats.append(Chat(chat.messages, chat.schema, max_tokens))
    return chats


def save_chats(chats: list[Chat], path: Path) -> None:
    """Write chats as JSON (what `load_chats` reads)."""
    path.write_text(json.dumps([{"messages": c.messages, "schema": c.schema, "max_tokens": c.max_tokens} for c in chats]))


def load_chats(path: Path) -> list[Chat]:
    """Chats written by `save_chats`."""
    return [Chat(tuple(c["messages"]), c["schema"], c["max_tokens"]) for c in json.loads(path.read_text())]


def _follows(text: str, schema: dict[str, Any] | None) -> bool:
    """Whether an answer is JSON that follows the schema (free text always does)."""
    if schema is None:
        return True
    import jsonschema

    try:
        jsonschema.validate(json.loads(text), schema)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def drive_engine(engine: Any, chats: list[Chat], concurrency: int) -> dict[str, Any]:
    """Keep `concurrency` streaming requests in the engine until every chat is answered: what a
    Serve replica's engine sees from that many clients. Latencies are read where the deltas land.
    The answers are checked against their schemas after the clock stops: the clients share the
    engine's interpreter here, and validating one takes milliseconds of it that clients in their
    own processes would not.

    Throughput is reported twice. `steady_*`: from the start until the last request is sent, while
    all `concurrency` clients are in flight (ramp-up included): the engine at that concurrency.
    The whole run adds the drain, where fewer and fewer rows remain and the longest answer sets
    the end; with few rounds the drain is a large part of the run."""
    queue = list(chats)
    received = 0  # tokens landed so far, all clients
    steady = (0.0, 0)  # when the last request was sent, and the tokens landed by then
    tokens: list[int] = []
    answers: list[tuple[str, dict[str, Any] | None]] = []
    finishes: dict[str, int] = {}
    first_token_s: list[float] = []
    between_tokens_s: list[float] = []

    async def client() -> None:
        nonlocal received, steady
        while queue:
            chat = queue.pop()
            asked = last = time.perf_counter()
            if not queue:
                steady = (asked, received)
            parts, count = [], 0
            async for delta in engine.stream(list(chat.messages), chat.schema, chat.max_tokens):
                now = time.perf_counter()
                if delta.tokens:
                    if count == 0:
                        first_token_s.append(now - asked)
                    else:
                        between_tokens_s.extend([(now - last) / delta.tokens] * delta.tokens)
                    last, count = now, count + delta.tokens
                    received += delta.tokens
                parts.append(delta.text)
                if delta.finish_reason:
                    finishes[delta.finish_reason] = finishes.get(delta.finish_reason, 0) + 1
            tokens.append(count)
            answers.append(("".join(parts), chat.schema))

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    valid = [_follows(text, schema) for text, schema in answers]
    drained_at, steady_tokens = steady
    steady_seconds = drained_at - started
    ms = 1000.0
    return {
        "concurrency": concurrency,
        "requests": len(chats),
        "steady_seconds": round(steady_seconds, 2),
        "steady_completion_tokens_per_s": round(steady_tokens / steady_seconds, 1) if steady_seconds > 0 else None,
        "seconds": round(elapsed, 2),
        "completion_tokens_per_s": round(sum(tokens) / elapsed, 1),
        "generations_per_s": round(len(chats) / elapsed, 3),
        "mean_completion_tokens": round(statistics.mean(tokens), 1),
        "mean_answer_chars": round(statistics.mean(len(text) for text, _ in answers), 1),
        "schema_valid_share": round(sum(valid) / len(valid), 3),
        "finish_reasons": finishes,
        "ttft_ms_p50": round(_percentile(first_token_s, 0.5) * ms, 1),
        "ttft_ms_p99": round(_percentile(first_token_s, 0.99) * ms, 1),
        "itl_ms_p50": round(_percentile(between_tokens_s, 0.5) * ms, 2),
        "itl_ms_p99": round(_percentile(between_tokens_s, 0.99) * ms, 2),
    }


def library_reference(model: Any, tokenizer: Any, chats: list[Chat], batch: int, max_tokens: int) -> dict[str, Any]:
    """transformers' own fast path, unconstrained, one fixed batch that writes `max_tokens` each:
    static KV cache, and on CUDA torch.compile of the step (CUDA graphs). The best case for a
    static batch (no row ends early), with the same repetition penalty as the engine."""
    import torch

    prompts = [tokenizer.apply_chat_template(list(c.messages), tokenize=False, add_generation_prompt=True) for c in chats[:batch]]
    tokenizer.padding_side = "left"
    inputs = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
    on_gpu = model.device.type == "cuda"
    options: dict[str, Any] = {
        "max_new_tokens": max_tokens,
        "min_new_tokens": max_tokens,
        "do_sample": False,
        "repetition_penalty": 1.15,
        "pad_token_id": tokenizer.eos_token_id,
    }
    if on_gpu:
        options["cache_implementation"] = "static"  # generate() compiles the step for a static cache on CUDA
    # Warm-up: on CUDA the same shapes as the timed run (torch.compile specialises on them).
    warm = options if on_gpu else {**options, "max_new_tokens": 8, "min_new_tokens": 8}
    with torch.inference_mode():
        model.generate(**inputs, **warm)
        if on_gpu:
            torch.cuda.synchronize()
        started = time.perf_counter()
        output = model.generate(**inputs, **options)
        if on_gpu:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
    generated = (output.shape[1] - inputs["input_ids"].shape[1]) * output.shape[0]
    return {
        "path": "transformers generate(), "
        + ("static cache + torch.compile" if on_gpu else "dynamic cache (no CUDA graphs on a CPU)"),
        "batch": len(prompts),
        "max_tokens": max_tokens,
        "seconds": round(elapsed, 2),
        "completion_tokens_per_s": round(generated / elapsed, 1),
        "constrained": False,
    }


# What each of the engine's scheduling choices is worth: the engine again at one concurrency
# with one choice undone (`--ablations`), measured in the same run as the engine point.
ABLATIONS: dict[str, dict[str, Any]] = {
    "in turn: a step's tokens handed over before the next forward": {"overlap": False},
    "Python's default 5 ms thread switch interval": {"switch_interval": None},
    "the CPU's prefill budget (4096 tokens)": {"prefill_tokens": 4096},
    "prefills run eagerly, not as CUDA graphs": {"prefill_graphs": False},
}


def engine_point(engine: Any, load: list[Chat], size: int, warm: list[Chat]) -> dict[str, Any]:
    """The engine at one concurrency, after a warm-up (CUDA graphs, grammar cache), with the
    profile of the measured requests only."""
    asyncio.run(drive_engine(engine, warm, size))
    engine.reset_profile()
    point = asyncio.run(drive_engine(engine, load, size))
    point["engine_profile"] = engine.profile()
    return point


def measure(
    concurrency: list[int],
    chats: list[Chat],
    gpus: float,
    *,
    random_weights: bool,
    reference_batch: int,
    previous: bool,
    rounds: int = 2,
    ablations: bool = False,
) -> dict[str, Any]:
    """Every point in one process on one model: the library reference, optionally the decoding
    the application had before this engine, then the engine at each concurrency (one engine
    sized for the largest), each engine point with its ratio to the reference; with
    `ablations`, the engine at the reference's batch with each scheduling choice undone."""
    import dataclasses

    from services.common.llm_local import load_smollm2
    from services.llm.engine import ChatEngine, EngineShape

    settings = Settings().llm
    model, tokenizer = load_smollm2(Settings().model_cache_dir, gpus > 0, random_weights)
    max_tokens = chats[0].max_tokens
    result: dict[str, Any] = {
        "model": settings.model,
        "weights": "random (throughput only: the answers mean nothing)"
        if random_weights
        else "SmolLM2-135M-Instruct (GGUF Q4_1, dequantized)",
        "device": str(model.device),
        "dtype": str(model.dtype).removeprefix("torch."),
        "requests": "cart-abandonment email prompts bound to the EmailDraft schema",
        "max_tokens": max_tokens,
        "path": "the engine in-process, as its Serve replica runs it, without Serve's HTTP and handle hops",
    }
    # The same requests for every path at a concurrency: rounds x concurrency, at least 16.
    loads = {size: [chats[i % len(chats)] for i in range(max(rounds * size, 16))] for size in concurrency}
    print("library reference ...", file=sys.stderr, flush=True)
    try:
        reference = library_reference(model, tokenizer, chats, reference_batch, max_tokens)
    except Exception as error:  # a reference that cannot run is reported; the engine is still measured
        reference = {"error": f"{type(error).__name__}: {error}"[:500]}
    result["reference"] = reference
    print(json.dumps(reference), file=sys.stderr, flush=True)
    if previous:
        from forgeline.bench.llm_previous import previous_decoding

        print("the previous decoding ...", file=sys.stderr, flush=True)
        result["previous"] = [previous_decoding(model, tokenizer, loads[size], size) for size in concurrency]
        print(json.dumps(result["previous"]), file=sys.stderr, flush=True)
    shape = EngineShape(max(concurrency), settings.max_context, settings.prefill_tokens)
    engine = ChatEngine(model, tokenizer, shape)
    points = []
    try:
        for size in concurrency:
            point = engine_point(engine, loads[size], size, chats[:size])
            if "completion_tokens_per_s" in reference:
                for key in ("completion_tokens_per_s", "steady_completion_tokens_per_s"):
                    if point[key] is not None:
                        ratio = key.replace("completion_tokens_per_s", "over_reference")
                        point[ratio] = round(point[key] / reference["completion_tokens_per_s"], 3)
            points.append(point)
            print(json.dumps(point), file=sys.stderr, flush=True)
    finally:
        engine.engine.stop()
    result["engine"] = points
    at = next((p for p in points if p["concurrency"] == reference_batch), None)
    if ablations and at is not None:
        result["ablations"] = []
        for label, changes in ABLATIONS.items():
            print(f"ablation: {label} ...", file=sys.stderr, flush=True)
            engine = ChatEngine(model, tokenizer, dataclasses.replace(shape, **changes))
            try:
                point = engine_point(engine, loads[reference_batch], reference_batch, chats[:reference_batch])
            finally:
                engine.engine.stop()
            point["undone"] = label
            key = "steady_completion_tokens_per_s" if point["steady_completion_tokens_per_s"] else "completion_tokens_per_s"
            point["over_engine"] = round(point[key] / at[key], 3)
            result["ablations"].append(point)
            print(json.dumps(point), file=sys.stderr, flush=True)
    return result


def answer(chats: list[Chat], gpus: float, concurrency: int) -> dict[str, Any]:
    """Every chat answered once by the engine over the real weights, `concurrency` at a time:
    the answers keyed by `Chat.key`, and how long they took."""
    from services.common.llm_local import load_smollm2
    from services.llm.engine import ChatEngine, EngineShape, complete

    settings = Settings().llm
    model, tokenizer = load_smollm2(Settings().model_cache_dir, gpus > 0, False)
    engine = ChatEngine(model, tokenizer, EngineShape(concurrency, settings.max_context, settings.prefill_tokens))
    gate = asyncio.Semaphore(concurrency)

    async def one(chat: Chat) -> dict[str, Any]:
        async with gate:
            text, prompt_tokens, tokens, finish = await complete(engine, list(chat.messages), chat.schema, chat.max_tokens)
        return {"key": chat.key(), "text": text, "prompt_tokens": prompt_tokens, "completion_tokens": tokens, "finish": finish}

    async def every() -> list[dict[str, Any]]:
        return await asyncio.gather(*(one(chat) for chat in chats))

    started = time.perf_counter()
    try:
        answers = asyncio.run(every())
    finally:
        engine.engine.stop()
    seconds = time.perf_counter() - started
    return {
        "model": settings.model,
        "weights": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantized)",
        "device": str(model.device),
        "dtype": str(model.dtype).removeprefix("torch."),
        "chats": len(chats),
        "concurrency": concurrency,
        "seconds": round(seconds, 1),
        "answers_per_s": round(len(chats) / seconds, 1),
        "hit_token_limit": sum(a["finish"] == "length" for a in answers),
        "answers": answers,
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m forgeline.bench.llm` (the device machine runs it this way)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1,8", help="comma-separated concurrent requests per engine point")
    parser.add_argument("--requests", type=int, default=16, help="distinct email requests (cycled when a point needs more)")
    parser.add_argument("--rounds", type=int, default=2, help="a point sends rounds x its concurrency requests (at least 16)")
    parser.add_argument("--max-tokens", type=int, default=400, help="token limit per answer (the composer asks 400)")
    parser.add_argument("--gpus", type=float, default=0.0, help="1: the model on the GPU (0: CPU)")
    parser.add_argument("--random-weights", action="store_true", help="SmolLM2's shape with random weights (throughput only)")
    parser.add_argument(
        "--reference-batch", type=int, default=None, help="the library reference's batch (default: the largest concurrency)"
    )
    parser.add_argument(
        "--previous", action="store_true", help="also measure the decoding before the engine (needs lm-format-enforcer)"
    )
    parser.add_argument(
        "--ablations",
        action="store_true",
        help="also the engine at the reference's batch with each scheduling choice undone (overlap, "
        "switch interval, prefill budget, prefill graphs)",
    )
    parser.add_argument("--chats", type=Path, default=None, help="read the requests from this JSON file")
    parser.add_argument("--save-chats", type=Path, default=None, help="write the requests to this JSON file and exit")
    parser.add_argument(
        "--answer", action="store_true", help="answer every --chats chat once, at the first concurrency, and write the answers"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.answer:
        if not args.chats:
            parser.error("--answer needs --chats FILE")
        emit(answer(load_chats(args.chats), args.gpus, int(args.concurrency.split(",")[0])), args.out)
        return
    chats = load_chats(args.chats)[: args.requests] if args.chats else email_chats(args.requests, args.max_tokens)
    if args.save_chats:
        save_chats(chats, args.save_chats)
        return
    concurrency = [int(c) for c in args.concurrency.split(",")]
    reference_batch = args.reference_batch or max(concurrency)
    result = measure(
        concurrency,
        chats,
        args.gpus,
        random_weights=args.random_weights,
        reference_batch=reference_batch,
        previous=args.previous,
        rounds=args.rounds,
        ablations=args.ablations,
    )
    emit(result, args.out)


if __name__ == "__main__":
    main()
