"""The decoding the LLM application had before its engine, kept as `bench llm --previous`'s
baseline: one static `generate()` batch, each row held to its schema by lm-format-enforcer
(a Python call per row per step). The engine must not be slower than this on a CPU."""

from __future__ import annotations

import time
from typing import Any

from services.common.llm_local import Chat


def previous_decoding(model: Any, tokenizer: Any, chats: list[Chat], batch: int) -> dict[str, Any]:
    """Every chat, `batch` at a time (as `@serve.batch` grouped them), through the old path."""
    from forgeline.bench.llm import _follows

    data = _enforcer_data(tokenizer)
    tokens, texts = 0, []
    started = time.perf_counter()
    for first in range(0, len(chats), batch):
        group = chats[first : first + batch]
        for text, count in _generate(model, tokenizer, data, group):
            tokens += count
            texts.append(text)
    elapsed = time.perf_counter() - started
    # Checked after the clock stops, as the engine's answers are.
    valid = [_follows(text, chat.schema) for text, chat in zip(texts, chats, strict=True)]
    return {
        "path": "generate() static batch + lm-format-enforcer (before the engine)",
        "batch": batch,
        "requests": len(chats),
        "seconds": round(elapsed, 2),
        "completion_tokens_per_s": round(tokens / elapsed, 1),
        "generations_per_s": round(len(chats) / elapsed, 3),
        "mean_completion_tokens": round(tokens / len(chats), 1),
        "mean_answer_chars": round(sum(map(len, texts)) / len(chats), 1),
        "schema_valid_share": round(sum(valid) / len(valid), 3),
    }


def _enforcer_data(tokenizer: Any) -> Any:
    from lmformatenforcer.tokenenforcer import TokenEnforcerTokenizerData

    def decode(tokens: list[int]) -> str:
        return str(tokenizer.decode(tokens)).rstrip("\ufffd")

    return TokenEnforcerTokenizerData(_regular_tokens(tokenizer), decode, tokenizer.eos_token_id, False, len(tokenizer))


def _generate(model: Any, tokenizer: Any, data: Any, chats: list[Chat]) -> list[tuple[str, int]]:
    import torch
    from lmformatenforcer import JsonSchemaParser
    from lmformatenforcer.tokenenforcer import TokenEnforcer
    from transformers import LogitsProcessorList

    prompts = [tokenizer.apply_chat_template(list(c.messages), tokenize=False, add_generation_prompt=True) for c in chats]
    enforcers = [None if c.schema is None else TokenEnforcer(data, JsonSchemaParser(c.schema)) for c in chats]
    pad = eos = tokenizer.eos_token_id
    tokenizer.padding_side = "left"
    inputs = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
    width = inputs["input_ids"].shape[1]
    mask = _SchemaMask(
        enforcers, [c.max_tokens for c in chats], [[t for t in r if t != pad] for r in inputs["input_ids"].tolist()], eos
    )
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=max(c.max_tokens for c in chats) + 1,
            logits_processor=LogitsProcessorList([mask]),
            do_sample=False,
            repetition_penalty=1.15,
            pad_token_id=pad,
        )
    answers = []
    for row in output:
        new = row[width:]
        new = new[(new != pad) & (new != eos)]
        answers.append((str(tokenizer.decode(new, skip_special_tokens=True)), int(new.numel())))
    return answers


class _SchemaMask:
    """Each row's enforcer asked per step; one mask applied for the batch."""

    def __init__(self, enforcers: list[Any], limits: list[int], prompts: list[list[int]], eos: int) -> None:
        self.enforcers, self.limits, self.sequences, self.eos = enforcers, limits, prompts, eos
        self.generated = 0
        self.finished = [False] * len(prompts)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if self.generated:
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if not self.finished[row]:
                    self.sequences[row].append(token)
                    self.finished[row] = token == self.eos
        banned = torch.ones(scores.shape, dtype=torch.bool)
        for row, enforcer in enumerate(self.enforcers):
            if self.finished[row] or self.generated >= self.limits[row]:
                banned[row, self.eos] = False
            elif enforcer is None:
                banned[row] = False
            else:
                allowed = enforcer.get_allowed_tokens(self.sequences[row]).allowed_tokens
                banned[row, torch.tensor(allowed, dtype=torch.long)] = False
        self.generated += 1
        return scores.masked_fill(banned.to(scores.device, non_blocking=True), float("-inf"))


def _regular_tokens(tokenizer: Any) -> list[tuple[int, str, bool]]:
    """(id, text, starts a word) per non-special token; byte pieces of a character left out."""
    zero = tokenizer.encode("0")[-1]
    special = set(tokenizer.all_special_ids)
    tokens = []
    for token in range(len(tokenizer)):
        if token in special:
            continue
        after_zero = tokenizer.decode([zero, token])[1:]
        alone = tokenizer.decode([token])
        if "\ufffd" in alone:
            continue
        tokens.append((token, after_zero, len(after_zero) > len(alone)))
    return tokens
