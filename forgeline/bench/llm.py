"""Throughput of the OpenAI-compatible LLM application's model deployment, batched vs not.

    python -m forgeline.bench.llm --batch-sizes 1,8,32 --requests 64 --gpus 1

It starts a private Ray, deploys the same application `forgeline up` deploys (one replica,
`max_batch_size` = the point measured), keeps `batch` requests in flight through a deployment
handle and prints JSON: generations/s, completion tokens/s and the mean batch the model saw,
beside the same load through the unbatched path. The requests are real cart-abandonment email
prompts bound to the email schema (the composer's load). `--save-chats FILE` writes them as
JSON and `--chats FILE` reads them back, so a bare GPU machine needs only Ray Serve,
transformers, gguf, lm-format-enforcer, the SmolLM2 GGUF and this repo, not the email
pipeline's own dependencies.
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


async def _drive(handle: Any, chats: list[Chat], concurrency: int, batched: bool) -> dict[str, float]:
    """Keep `concurrency` requests in flight until every chat is answered."""
    method = handle.generate_batched if batched else handle.generate_one
    queue = list(chats)
    batches: list[int] = []
    tokens: list[int] = []
    valid: list[bool] = []

    async def worker() -> None:
        while queue:
            chat = queue.pop()
            completion, batch = await method.remote(chat)
            batches.append(batch)
            tokens.append(completion.completion_tokens)
            valid.append(_follows(completion.text, chat.schema))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "generations_per_s": round(len(chats) / elapsed, 3),
        "completion_tokens_per_s": round(sum(tokens) / elapsed, 1),
        "mean_completion_tokens": round(statistics.mean(tokens), 1),
        "mean_batch": round(statistics.mean(batches), 2),
        "schema_valid_share": round(sum(valid) / len(valid), 3),
    }


def measure(batch_sizes: list[int], chats: list[Chat], gpus: float) -> dict[str, Any]:
    """Deploy once per batch size; JSON-ready result with the batched/unbatched ratio per point
    (the unbatched path at the same load and request count, in the same run)."""
    from ray import serve

    from forgeline.bench.serve import private_ray
    from services.llm.serve_app import APP_NAME, build_app

    points: list[dict[str, Any]] = []
    with private_ray(gpus):
        for batch in batch_sizes:
            settings = Settings().replace(
                llm={
                    "num_gpus": gpus,
                    "num_cpus": 1.0,
                    "min_replicas": 1,
                    "max_replicas": 1,
                    "max_batch_size": batch,
                    "batch_wait_timeout_s": 0.05,
                }
            )
            serve.run(build_app(settings), name=APP_NAME, route_prefix=None)
            handle = serve.get_deployment_handle("LLMModel", app_name=APP_NAME)
            device = handle.device.remote().result()
            asyncio.run(_drive(handle, chats[:batch], concurrency=batch, batched=True))  # warm-up
            point: dict[str, Any] = {
                "batch_size": batch,
                "requests": len(chats),
                "max_tokens": chats[0].max_tokens,
                "device": device,
            }
            point.update(asyncio.run(_drive(handle, chats, concurrency=batch, batched=True)))
            if batch > 1:
                one = asyncio.run(_drive(handle, chats, concurrency=batch, batched=False))
                point["unbatched"] = one
                point["batched_over_unbatched"] = round(point["generations_per_s"] / one["generations_per_s"], 2)
            points.append(point)
            print(json.dumps(point), file=sys.stderr, flush=True)
            serve.delete(APP_NAME)
    return {"model": Settings().llm.model, "gpus_per_replica": gpus, "points": points}


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m forgeline.bench.llm`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="1,8", help="comma-separated max_batch_size values")
    parser.add_argument("--requests", type=int, default=16, help="email requests measured per point (the first N of --chats)")
    parser.add_argument("--max-tokens", type=int, default=400, help="token limit per answer (the composer asks 400)")
    parser.add_argument("--gpus", type=float, default=0.0, help="GPUs per replica (0: CPU)")
    parser.add_argument("--chats", type=Path, default=None, help="read the requests from this JSON file")
    parser.add_argument("--save-chats", type=Path, default=None, help="write the requests to this JSON file and exit")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    chats = load_chats(args.chats)[: args.requests] if args.chats else email_chats(args.requests, args.max_tokens)
    if args.save_chats:
        save_chats(chats, args.save_chats)
        return
    result = measure([int(b) for b in args.batch_sizes.split(",")], chats, args.gpus)
    emit(result, args.out)


if __name__ == "__main__":
    main()
