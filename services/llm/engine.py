"""The LLM application's decoder: continuous batching over KV-cache slots, every row held to its
own JSON schema by one token bitmask for the whole batch.

    Engine thread, each step:  admit waiting rows (prefill into free slots, first token)
                               -> one decode forward for every live row (a CUDA graph on a GPU)
                               -> on a GPU, meanwhile: the previous step's tokens handed over
                               -> grammar bitmask of every row, filled on the CPU meanwhile
                               -> repetition penalty, mask, greedy pick (a second graph)

A row joins at the next step and leaves when it finishes (end of sequence, end of its grammar,
or its own token limit); nobody waits for the longest row of a batch, which a static
`generate()` batch makes everyone do. The model's own modules (SmolLM2 is a Llama) do the
arithmetic; this file keeps the cache, the positions and the schedule. Measured and compared
with the libraries' paths by `forgeline bench llm` (docs/NOTES.md, "The LLM application").
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (torch's own convention)

from services.common.llm import ContextTooLongError, Delta, FinishReason

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Row:
    """One request in the engine: its prompt, grammar and limit, and what it has produced."""

    prompt: list[int]
    matcher: Any | None  # xgrammar.GrammarMatcher; None: free text
    max_tokens: int
    reader: Any  # whoever reads the row's tokens (opaque to the engine: `publish` gets it back)
    slot: int = -1
    generated: int = 0
    cancelled: bool = False
    position: int = 0  # where its next token's key and value go in its slot


@dataclass(frozen=True)
class EngineShape:
    """How much the engine holds: rows at once, tokens per row (prompt + answer), prefill budget."""

    slots: int
    max_context: int
    # Prompt tokens one prefill admits (None: 4096 on a CPU; 16384 on a GPU, where a prefill's
    # cost is its launches more than its tokens).
    prefill_tokens: int | None = None
    repetition_penalty: float = 1.15  # a 135M model loops without it
    # Steps between prefills while rows are decoding (None: 8 on a GPU, 1 on a CPU). A GPU
    # prefill is launch-bound: one of two rows costs about what one of twenty does, and run at
    # every step (a row ends at most steps under load) it took most of the engine's time.
    admit_every: int | None = None
    # Launch step t+1 before handing step t's tokens over (None: on a GPU), so the grammar and
    # the hand-over run while the GPU computes. On a CPU the forward runs in this thread, and
    # the overlap would only delay every token by a step.
    overlap: bool | None = None
    # Python's thread switch interval while the engine runs (None: leave it). The engine thread
    # releases the GIL at every torch call and GPU wait; at the default 5 ms the event loop's
    # thread, busy with hundreds of streams, then keeps it for up to 5 ms while the GPU idles.
    switch_interval: float | None = 0.00005
    # Prefills as CUDA graphs, padded to (rows, width) buckets (None: with the decode's graphs).
    prefill_graphs: bool | None = None


@dataclass(frozen=True)
class _Fused:
    """A layer's projections that read the same input, as one matrix each: one matrix product
    instead of three (q, k, v) or two (gate, up) per layer and step."""

    qkv: torch.Tensor
    gate_up: torch.Tensor


def _fuse(layer: Any) -> _Fused:
    attention, mlp = layer.self_attn, layer.mlp
    qkv = torch.cat([attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight])
    return _Fused(qkv, torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]))


def _buckets(limit: int, first: int, grow: Callable[[int], int]) -> list[int]:
    sizes = [first]
    while sizes[-1] < limit:
        sizes.append(min(grow(sizes[-1]), limit))
    return sizes


Publish = Callable[[list[tuple[Row, list[int], FinishReason | None]]], None]


class Engine:
    """Decodes many rows of one causal LM at once. `submit` and `cancel` are thread-safe; a
    daemon thread runs the steps and hands each step's tokens to `publish` in one call (one
    wake-up of the readers per step, not one per row). Greedy decoding (deterministic)."""

    def __init__(self, model: Any, eos: int, shape: EngineShape, publish: Publish, *, cuda_graphs: bool | None = None) -> None:
        import xgrammar as xgr

        self.model, self.eos, self.shape, self.publish = model, eos, shape, publish
        config = model.config
        self.device = next(model.parameters()).device
        dtype = next(model.parameters()).dtype
        self.vocab = config.vocab_size
        self.heads, self.kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        layers, slots = config.num_hidden_layers, shape.slots
        # One slot more than rows: a prefill's padding rows (see `_prefill`) write theirs there.
        cache = (layers, slots + 1, self.kv_heads, shape.max_context, self.head_dim)
        # Zeros, not torch.empty: a step's attention reads its length bucket past a row's position,
        # masked, and masked values still count as 0 x value; reused memory can hold a NaN (a
        # freed bitmask's -1 words are one in float64), and 0 x NaN poisoned a row's logits.
        self.keys = torch.zeros(cache, dtype=dtype, device=self.device)
        self.values = torch.zeros(cache, dtype=dtype, device=self.device)
        self.tokens = torch.zeros(slots, dtype=torch.long, device=self.device)
        self.positions = torch.zeros(slots, dtype=torch.long, device=self.device)
        self.live = torch.zeros(slots, dtype=torch.long, device=self.device)
        self.seen = torch.zeros((slots, self.vocab), dtype=torch.bool, device=self.device)
        self.bound = torch.zeros(slots, dtype=torch.bool, device=self.device)  # the row has a grammar
        self.arange = torch.arange(max(slots, shape.max_context), device=self.device)
        # A step's picks read the decode's logits, the rows' bitmask (filled here, copied to the
        # device) and write the picked tokens (copied back): fixed buffers, so the pick is
        # captured as a CUDA graph too.
        self.logits = torch.empty((slots, self.vocab), dtype=torch.float32, device=self.device)
        self.bitmask = xgr.allocate_token_bitmask(slots, self.vocab)
        self.picked = torch.zeros(slots, dtype=torch.long, device=self.device)
        self.mask, self.picked_host = self.bitmask, self.picked
        if self.device.type == "cuda":
            self.bitmask = self.bitmask.pin_memory()
            self.mask = self.bitmask.to(self.device)
            self.picked_host = self.picked.cpu().pin_memory()
        self.true = torch.ones((), dtype=torch.bool, device=self.device)
        self._batch_matcher = xgr.BatchGrammarMatcher()
        self.cuda_graphs = self.device.type == "cuda" if cuda_graphs is None else cuda_graphs
        self._graphs: dict[tuple[int, int], torch.cuda.CUDAGraph] = {}  # decode, per (rows, length)
        self._pick_graphs: dict[int, torch.cuda.CUDAGraph] = {}  # pick, per rows
        self._pool = torch.cuda.graph_pool_handle() if self.cuda_graphs else None
        # A step runs the smallest bucket holding every live row and position. CPUs: small length
        # buckets (attention is arithmetic there); GPUs: fewer graphs to capture.
        stride = 64 if self.device.type == "cpu" else 128
        self._batch_sizes = _buckets(slots, 1, lambda b: b * 2)
        self._lengths = _buckets(shape.max_context, stride, lambda n: n + stride)
        # A prefill is a graph too on a GPU, per (rows, width) bucket: eagerly, launching its
        # thousand-odd kernels took this thread longer than the GPU took to run them, whatever its
        # size (`bench llm --ablations`). Finer buckets than a decode's: a prefill's padding is
        # arithmetic, not just reads.
        self._prefill_rows = _buckets(slots, 1, lambda c: c * 2 if c < 8 else c + 8)
        self._prefill_widths = _buckets(shape.max_context, 64, lambda n: n + 64)
        self._prefill_graphs: dict[tuple[int, int], torch.cuda.CUDAGraph] = {}
        # Padded to the buckets when they run as graphs (a test pads on a CPU too).
        self.pad_prefills = self.cuda_graphs and shape.prefill_graphs is not False
        self._fused = [_fuse(layer) for layer in model.model.layers]
        # Tokens no grammar row may pick (see ChatEngine); applied on the device.
        self.barred = torch.zeros(self.vocab, dtype=torch.bool, device=self.device)
        self.rows: list[Row | None] = [None] * slots
        self._waiting: deque[Row] = deque()
        self._admit_every = shape.admit_every or (8 if self.device.type == "cuda" else 1)
        self.prefill_tokens = shape.prefill_tokens or (16384 if self.device.type == "cuda" else 4096)
        # A prefill's inputs, fixed buffers as the graphs need: prompts (right-padded, row-major),
        # their slots (padding rows: the spare slot) and the position of each prompt's last token.
        self.prompt_ids = torch.zeros(max(self.prefill_tokens, shape.max_context), dtype=torch.long, device=self.device)
        self.prompt_slots = torch.full((slots,), slots, dtype=torch.long, device=self.device)
        self.prompt_last = torch.zeros(slots, dtype=torch.long, device=self.device)
        self._since_admit = 0
        self._overlap = self.device.type == "cuda" if shape.overlap is None else shape.overlap
        self._pending: tuple[list[Row], int, Any] | None = None  # a step's rows and batch, its pick not yet taken
        self._switch_interval = sys.getswitchinterval()  # restored by stop()
        if shape.switch_interval is not None:
            sys.setswitchinterval(min(self._switch_interval, shape.switch_interval))
        self._wake = threading.Condition()
        self._stopped = False
        self.steps = 0
        self.cancelled = 0
        # Where the engine thread's time goes (bench llm reports it per step): decode launch,
        # grammar masks, queueing the pick, waiting for it, handing tokens over, and prefills.
        self.seconds = dict.fromkeys(("launch", "masks", "pick", "wait", "hand_over", "prefill"), 0.0)
        self.rows_stepped = 0
        self._thread = threading.Thread(target=self._run, name="llm-engine", daemon=True)
        self._thread.start()

    # -- the outside ---------------------------------------------------------------------

    def submit(self, row: Row) -> None:
        """Queue a row; it joins the batch at the next step with a free slot."""
        if len(row.prompt) + row.max_tokens > self.shape.max_context:
            raise ContextTooLongError(
                f"{len(row.prompt)} prompt tokens + max_tokens {row.max_tokens} exceed this deployment's context "
                f"of {self.shape.max_context} tokens: shorten the messages or ask fewer tokens"
            )
        with self._wake:
            self._waiting.append(row)
            self._wake.notify()

    def cancel(self, row: Row) -> None:
        """Stop a row (its client left); its slot is freed at the next step."""
        row.cancelled = True
        with self._wake:
            self._wake.notify()

    def stop(self) -> None:
        """End the engine thread (tests, shutdown)."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=30)
        sys.setswitchinterval(self._switch_interval)

    def active(self) -> int:
        """Rows holding a slot now."""
        return sum(row is not None for row in self.rows)

    # -- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                with self._wake:
                    while not self._stopped and not self._waiting and not any(self.rows):
                        self._wake.wait()
                    if self._stopped:
                        return
                try:
                    self._drop_cancelled()
                    self._admit()
                    if any(self.rows):
                        self._step()
                except Exception:  # the engine outlives a failed step; the rows it held fail
                    log.exception("an LLM engine step failed: the rows it held end with an error")
                    self._fail_held()

    def _fail_held(self) -> None:
        self._pending = None
        held = [row for row in self.rows if row is not None]
        for row in held:
            self._free(row)
        self.publish([(row, [], "error") for row in held if not row.cancelled])

    def _drop_cancelled(self) -> None:
        for row in self.rows:
            if row is not None and row.cancelled:
                self.cancelled += 1
                self._free(row)

    def _admit(self) -> None:
        """Prefill waiting rows into free slots, within the prefill budget, and pick their first
        token, when an admission is due (`_admission_due`)."""
        self._since_admit += 1
        if not self._admission_due():
            return
        self._take_pending()  # frees the slots of rows that just ended, and the bitmask buffer
        joining: list[Row] = []
        width = 0
        with self._wake:
            while self._waiting:
                row = self._waiting[0]
                if row.cancelled:
                    self._waiting.popleft()
                    self.cancelled += 1
                    continue
                free = next((s for s, held in enumerate(self.rows) if held is None), None)
                count, wider = self._prefill_shape(len(joining) + 1, max(width, len(row.prompt)))
                if free is None or (joining and count * wider > self.prefill_tokens):
                    break
                self._waiting.popleft()
                row.slot, self.rows[free] = free, row
                width = max(width, len(row.prompt))
                joining.append(row)
        if not joining:
            return
        self._since_admit = 0
        started = time.perf_counter()
        logits = self._prefill(joining)
        slots = torch.tensor([row.slot for row in joining], device=self.device)
        self.seen[slots] = False
        prompt_slots = torch.tensor([row.slot for row in joining for _ in row.prompt])
        prompt_tokens = torch.tensor([token for row in joining for token in row.prompt])
        self.seen[prompt_slots.to(self.device), prompt_tokens.to(self.device)] = True
        self.bound[slots] = torch.tensor([row.matcher is not None for row in joining], device=self.device)
        self._fill_masks(list(joining))
        mask = self.bitmask[: len(joining)].to(self.device, non_blocking=True)
        picked = self._pick(logits, self.seen[slots], self.bound[slots], mask)
        self.seen[slots, picked] = True
        self.tokens[slots] = picked
        self.live[slots] = 1
        for row in joining:
            row.position = len(row.prompt)
        self.positions[slots] = torch.tensor([row.position for row in joining], device=self.device)
        self._take(joining, picked.tolist())
        self.seconds["prefill"] += time.perf_counter() - started

    def _admission_due(self) -> bool:
        """Admit when nothing decodes, every `admit_every` steps, or as soon as the waiting rows
        that fit the free slots fill a whole prefill: a full prefill costs no less later, and
        waiting would only leave slots empty (a burst of requests fills the batch in a few steps,
        not one prefill per `admit_every` steps)."""
        if not self._waiting:
            return False
        if self._since_admit >= self._admit_every or not any(self.rows):
            return True
        tokens, free = 0, self.rows.count(None)
        with self._wake:  # submit() appends from other threads
            for row in itertools.islice(self._waiting, free):
                tokens += len(row.prompt)
                if tokens >= self.prefill_tokens:
                    return True
        return False

    def _step(self) -> None:
        """One token for every live row. With overlap, the step's forward is queued first, then
        the previous step's tokens are handed over (the GPU computes meanwhile), and this step's
        pick is left pending for the next step to take."""
        self.steps += 1
        live = [row for row in self.rows if row is not None]
        batch = next(b for b in self._batch_sizes if b > max(row.slot for row in live))
        length = next(n for n in self._lengths if n > max(row.position for row in live))
        started = time.perf_counter()
        self._decode(batch, length)  # queued on the GPU; the masks are filled meanwhile
        self.seconds["launch"] += time.perf_counter() - started
        if self._pending is not None:
            self._take_pending()  # rows it ends were in this forward too: their pick is ignored
            live = [row for row in self.rows[:batch] if row is not None]
            if not live:
                return
        masking = time.perf_counter()
        self._fill_masks(self.rows[:batch])
        masked = time.perf_counter()
        self.seconds["masks"] += masked - masking
        done = self._queue_pick(batch)
        for row in live:
            row.position += 1
        self.rows_stepped += len(live)
        self._pending = (live, batch, done)
        self.seconds["pick"] += time.perf_counter() - masked
        if not self._overlap:
            self._take_pending()

    def _take_pending(self) -> None:
        """Wait for the pending step's pick and hand its tokens over."""
        if self._pending is None:
            return
        live, batch, done = self._pending
        self._pending = None
        started = time.perf_counter()
        if done is not None:
            done.synchronize()
        tokens = self.picked_host[:batch].tolist()
        waited = time.perf_counter()
        self._take(live, [tokens[row.slot] for row in live])
        self.seconds["wait"] += waited - started
        self.seconds["hand_over"] += time.perf_counter() - waited

    def _take(self, rows: list[Row], tokens: list[int]) -> None:
        """Hand each row its token; finish rows at the end of sequence or at their limit."""
        import xgrammar as xgr

        out: list[tuple[Row, list[int], FinishReason | None]] = []
        bound = [
            (row.matcher, token)
            for row, token in zip(rows, tokens, strict=True)
            if row.matcher is not None and not row.cancelled and token != self.eos
        ]
        if bound:
            xgr.BatchGrammarMatcher.batch_accept_token([m for m, _ in bound], [t for _, t in bound])
        for row, token in zip(rows, tokens, strict=True):
            if row.cancelled:
                continue
            if token == self.eos:
                out.append((row, [], "stop"))
                self._free(row)
                continue
            row.generated += 1
            if row.generated >= row.max_tokens:
                out.append((row, [token], "length"))
                self._free(row)
            else:
                out.append((row, [token], None))
        self.publish(out)

    def _free(self, row: Row) -> None:
        if row.slot >= 0 and self.rows[row.slot] is row:
            self.rows[row.slot] = None
            # Only its position must stop moving (it stays inside the cache); its other state is
            # set when the slot is next admitted, and a free slot's picks are ignored.
            self.live[row.slot] = 0
        row.slot = -1

    # -- masks and picks ---------------------------------------------------------------

    def _fill_masks(self, rows: list[Row | None]) -> None:
        """Bitmask row i: what rows[i] may emit next (all tokens for free text; each grammar row by
        xgrammar, in parallel threads)."""
        self.bitmask[: len(rows)] = -1
        matchers, indices = [], []
        for i, row in enumerate(rows):
            if row is not None and row.matcher is not None:
                matchers.append(row.matcher)
                indices.append(i)
        if matchers:
            self._batch_matcher.batch_fill_next_token_bitmask(matchers, self.bitmask, indices)

    def _pick(self, logits: torch.Tensor, seen: torch.Tensor, bound: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Greedy choice under the repetition penalty, the bitmask (`mask`, on the device) and,
        for grammar rows (`bound`), the barred tokens."""
        import xgrammar as xgr

        penalty = self.shape.repetition_penalty
        logits = torch.where(seen, torch.where(logits > 0, logits / penalty, logits * penalty), logits)
        logits = logits.masked_fill(bound[:, None] & self.barred, -torch.inf)
        xgr.apply_token_bitmask_inplace(logits, mask, vocab_size=self.vocab)
        return logits.argmax(dim=-1)

    def _pick_step(self, batch: int) -> None:
        """The pick of a decode step for slots [0, batch), and the state it advances: the seen
        tokens, the next step's inputs and positions. Rows not live write to slots nobody reads."""
        picked = self._pick(self.logits[:batch], self.seen[:batch], self.bound[:batch], self.mask[:batch])
        self.seen.index_put_((self.arange[:batch], picked), self.true.expand(batch))
        self.tokens[:batch] = picked
        self.positions[:batch] += self.live[:batch]
        self.picked[:batch] = picked

    def _queue_pick(self, batch: int) -> Any:
        """Queue the step's pick (the bitmask up, the picked tokens back); on a GPU, return the
        event that marks the tokens landed."""
        if self.device.type != "cuda":
            self._pick_step(batch)
            return None
        self.mask[:batch].copy_(self.bitmask[:batch], non_blocking=True)
        if self.cuda_graphs:
            if batch not in self._pick_graphs:
                self._pick_graphs[batch] = self._capture_pick(batch)
            self._pick_graphs[batch].replay()
        else:
            self._pick_step(batch)
        self.picked_host[:batch].copy_(self.picked[:batch], non_blocking=True)
        done = torch.cuda.Event()  # type: ignore[no-untyped-call]
        done.record()
        return done

    # -- the model ----------------------------------------------------------------------

    def _layers(self) -> Any:
        return self.model.model.layers

    def _prefill_shape(self, rows: int, width: int) -> tuple[int, int]:
        """The batch a prefill of `rows` prompts of at most `width` tokens runs as: its graph's
        bucket on a GPU, exact on a CPU. Its area is what the prefill budget bounds."""
        if not self.pad_prefills:
            return rows, width
        return next(c for c in self._prefill_rows if c >= rows), next(n for n in self._prefill_widths if n >= width)

    def _prefill(self, rows: list[Row]) -> torch.Tensor:
        """Run the prompts (right-padded into one batch, padded with rows of the spare slot to its
        bucket), write their keys and values into their slots, return the logits after each
        prompt's last token."""
        count, width = self._prefill_shape(len(rows), max(len(row.prompt) for row in rows))
        ids = torch.full((count, width), self.eos, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row.prompt)] = torch.tensor(row.prompt)
        slots = torch.full((count,), self.shape.slots, dtype=torch.long)
        slots[: len(rows)] = torch.tensor([row.slot for row in rows])
        last = torch.zeros(count, dtype=torch.long)
        last[: len(rows)] = torch.tensor([len(row.prompt) - 1 for row in rows])
        self.prompt_ids[: count * width].copy_(ids.view(-1))
        self.prompt_slots[:count].copy_(slots)
        self.prompt_last[:count].copy_(last)
        if self.cuda_graphs and self.pad_prefills:
            if (count, width) not in self._prefill_graphs:
                self._prefill_graphs[count, width] = self._capture(lambda: self._prefill_eager(count, width))
            self._prefill_graphs[count, width].replay()
        else:
            self._prefill_eager(count, width)
        return self.logits[: len(rows)]

    def _prefill_eager(self, count: int, width: int) -> None:
        """A prefill of the prompts in the buffers, as `count` rows of `width` tokens: keys and
        values into their slots, the logits after each prompt into `self.logits`."""
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        inner = self.model.model
        ids = self.prompt_ids[: count * width].view(count, width)
        slots = self.prompt_slots[:count]
        hidden = inner.embed_tokens(ids)
        cos, sin = inner.rotary_emb(hidden, self.arange[:width].expand(count, width))
        for i, (layer, fused) in enumerate(zip(self._layers(), self._fused, strict=True)):
            attention = layer.self_attn
            q, k, v = self._qkv(fused, layer.input_layernorm(hidden))
            q = q.view(count, width, self.heads, self.head_dim).transpose(1, 2)
            k = k.view(count, width, self.kv_heads, self.head_dim).transpose(1, 2)
            v = v.view(count, width, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            self.keys[i, slots, :, :width] = k
            self.values[i, slots, :, :width] = v
            # Right padding: causal attention never lets a prompt token see the padding after it.
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            hidden = hidden + attention.o_proj(out.transpose(1, 2).reshape(count, width, -1))
            hidden = hidden + self._mlp(fused, layer, layer.post_attention_layernorm(hidden))
        self.logits[:count] = self._logits(hidden[self.arange[:count], self.prompt_last[:count]])

    def _qkv(self, fused: _Fused, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q_size, kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
        q, k, v = torch.split(F.linear(x, fused.qkv), [q_size, kv_size, kv_size], dim=-1)
        return q, k, v

    @staticmethod
    def _mlp(fused: _Fused, layer: Any, x: torch.Tensor) -> torch.Tensor:
        gate, up = F.linear(x, fused.gate_up).chunk(2, dim=-1)
        down: torch.Tensor = layer.mlp.down_proj(layer.mlp.act_fn(gate) * up)
        return down

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model.lm_head(self.model.model.norm(hidden))
        return logits.float()

    def _decode_eager(self, batch: int, length: int) -> None:
        """One token's logits for slots [0, batch), into `self.logits`: keys and values written at
        each row's position, attention over the first `length` cache positions, masked past each
        row's position. The query heads that share a key head are grouped into one query of
        `heads / kv_heads` rows, so the cache is read once per step, not once per query head."""
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        inner = self.model.model
        group = self.heads // self.kv_heads
        positions = self.positions[:batch]
        rows = self.arange[:batch]
        hidden = inner.embed_tokens(self.tokens[:batch, None])
        cos, sin = inner.rotary_emb(hidden, positions[:, None])
        visible = (self.arange[:length] <= positions[:, None])[:, None, None, :]
        for i, (layer, fused) in enumerate(zip(self._layers(), self._fused, strict=True)):
            attention = layer.self_attn
            q, k, v = self._qkv(fused, layer.input_layernorm(hidden))
            q = q.view(batch, self.kv_heads, group, self.head_dim)
            k = k.view(batch, self.kv_heads, 1, self.head_dim)
            v = v.view(batch, self.kv_heads, 1, self.head_dim)
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            self.keys[i, rows, :, positions] = k[:, :, 0]
            self.values[i, rows, :, positions] = v[:, :, 0]
            out = F.scaled_dot_product_attention(
                q, self.keys[i, :batch, :, :length], self.values[i, :batch, :, :length], attn_mask=visible
            )
            hidden = hidden + attention.o_proj(out.reshape(batch, 1, -1))
            hidden = hidden + self._mlp(fused, layer, layer.post_attention_layernorm(hidden))
        self.logits[:batch] = self._logits(hidden[:, 0])

    def _decode(self, batch: int, length: int) -> None:
        """One decode step for slots [0, batch) into `self.logits` (see `_decode_eager`)."""
        if not self.cuda_graphs:
            self._decode_eager(batch, length)
            return
        key = (batch, length)
        if key not in self._graphs:
            self._graphs[key] = self._capture(lambda: self._decode_eager(batch, length))
        self._graphs[key].replay()

    def _capture_pick(self, batch: int) -> torch.cuda.CUDAGraph:
        # The warm-up runs advance the state a pick advances: put it back.
        state = [tensor.clone() for tensor in (self.seen, self.tokens, self.positions)]
        graph = self._capture(lambda: self._pick_step(batch))
        for tensor, saved in zip((self.seen, self.tokens, self.positions), state, strict=True):
            tensor.copy_(saved)
        return graph

    def _capture(self, step: Callable[[], None]) -> torch.cuda.CUDAGraph:
        """A CUDA graph of a step: a decode step is hundreds of small kernels, and launching them
        one by one, not the arithmetic, is what bounds a 135M model. Capturing does not run the
        step; the warm-up runs do. A decode's warm-ups compute the same step the replay will
        (same tokens and positions), so their cache writes are harmless."""
        side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            step()
        return graph


@dataclass(eq=False)
class _Stream:
    """A row's tokens as the engine hands them over, read by its request's coroutine."""

    loop: asyncio.AbstractEventLoop
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    tokens: list[int] = field(default_factory=list)
    finish: FinishReason | None = None


class TextStream:
    """Token ids to text deltas with the tokenizer's own incremental decoder (Rust, well under a
    microsecond a token): a multi-byte character split over tokens comes out whole, with its
    last piece."""

    def __init__(self, tokenizer: Any) -> None:
        from tokenizers.decoders import DecodeStream

        self.backend = tokenizer.backend_tokenizer
        self.decoder = DecodeStream(skip_special_tokens=True)

    def push(self, tokens: list[int]) -> str:
        """The text the new tokens settle."""
        return "".join(piece for token in tokens if (piece := self.decoder.step(self.backend, token)) is not None)


class ChatEngine:
    """Conversations in, text deltas out: the chat template, the schema's grammar (compiled once
    per schema and cached) and the engine. Used by the Serve deployment and the `local` backend."""

    def __init__(self, model: Any, tokenizer: Any, shape: EngineShape, *, cuda_graphs: bool | None = None) -> None:
        import xgrammar as xgr

        self.tokenizer = tokenizer
        eos = int(tokenizer.eos_token_id)
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size, stop_token_ids=[eos])
        self.grammars = xgr.GrammarCompiler(info, max_threads=2)
        self.engine = Engine(model, eos, shape, _Publisher(), cuda_graphs=cuda_graphs)
        self.engine.barred[_character_pieces(tokenizer)] = True
        self.engine.barred[len(tokenizer) :] = True  # the embedding's padding rows: no token at all

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        """The prompt's tokens, chat template included."""
        encoded = self.tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
        return list(encoded["input_ids"])

    def matcher(self, schema: dict[str, Any] | None) -> Any | None:
        """A fresh matcher for the schema (None: free text). Raises ValueError for a schema
        xgrammar cannot compile."""
        import xgrammar as xgr

        if schema is None:
            return None
        try:
            if schema == {"type": "object"}:
                compiled = self.grammars.compile_builtin_json_grammar()
            else:
                # Compact JSON: free whitespace lets a small model pad an answer to its limit.
                compiled = self.grammars.compile_json_schema(json.dumps(schema), any_whitespace=False)
        except (RuntimeError, ValueError) as error:
            reason = re.sub(r"^\[[^\]]*\] \S+:\d+: ", "", str(error).strip())  # xgrammar's time and source line
            raise ValueError(f"response_format schema cannot be enforced: {reason}") from error
        return xgr.GrammarMatcher(compiled)

    async def stream(
        self, messages: list[dict[str, str]], schema: dict[str, Any] | None, max_tokens: int
    ) -> AsyncIterator[Delta]:
        """The answer's deltas as the engine decodes it; the first carries the prompt's size, the
        last the finish reason. Closing the iterator early frees the row at the next step."""
        prompt, matcher = await asyncio.to_thread(lambda: (self.prompt_ids(messages), self.matcher(schema)))
        stream = _Stream(asyncio.get_running_loop())
        row = Row(prompt, matcher, max_tokens, stream)
        self.engine.submit(row)
        text = TextStream(self.tokenizer)
        first = True
        try:
            while True:
                await stream.ready.wait()
                stream.ready.clear()
                tokens, stream.tokens = stream.tokens, []
                finish = stream.finish
                if finish == "error":
                    raise RuntimeError("the LLM engine failed while decoding this request (the replica's log says why)")
                delta = Delta(text.push(tokens), len(tokens), finish, len(prompt) if first else 0)
                first = False
                yield delta
                if finish is not None:
                    return
        finally:
            if stream.finish is None:
                self.engine.cancel(row)

    def profile(self) -> dict[str, float]:
        """Milliseconds per decode step by phase, and rows per step, since the engine started."""
        steps = max(self.engine.steps, 1)
        per_step = {f"{phase}_ms": round(1000 * seconds / steps, 3) for phase, seconds in self.engine.seconds.items()}
        return {**per_step, "rows_per_step": round(self.engine.rows_stepped / steps, 1)}

    def reset_profile(self) -> None:
        """Start `profile` (and the step count) again from zero."""
        self.engine.steps = self.engine.rows_stepped = 0
        self.engine.seconds = dict.fromkeys(self.engine.seconds, 0.0)

    def stats(self) -> dict[str, int]:
        """Rows decoding now, steps run and rows cancelled by their clients so far."""
        return {"active": self.engine.active(), "steps": self.engine.steps, "cancelled": self.engine.cancelled}


def _character_pieces(tokenizer: Any) -> list[int]:
    """The tokens that decode to part of a multi-byte character. A schema-bound answer may not
    use them: one (an emoji's bytes) starts a run of such pieces that SmolLM2 rarely ends, and
    the answer runs out of tokens mid-string. Free text keeps every token."""
    return [i for i in range(len(tokenizer)) if "\ufffd" in tokenizer.decode([i])]


class _Publisher:
    """Engine thread -> the event loop of each row's request, one callback per loop at a time.
    While a loop has not yet taken the last hand-over, the tokens of later steps wait here and
    go together: a busy loop (hundreds of streams) gets fewer, larger deltas instead of falling
    behind the engine and taking the interpreter from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[asyncio.AbstractEventLoop, dict[_Stream, tuple[list[int], FinishReason | None]]] = {}
        self._busy: set[asyncio.AbstractEventLoop] = set()

    def __call__(self, step: list[tuple[Row, list[int], FinishReason | None]]) -> None:
        with self._lock:
            for row, tokens, finish in step:
                stream: _Stream = row.reader
                held, _ = self._pending.setdefault(stream.loop, {}).get(stream, ([], None))
                self._pending[stream.loop][stream] = (held + tokens, finish)
            ready = [loop for loop in self._pending if loop not in self._busy]
            for loop in ready:
                self._busy.add(loop)
                loop.call_soon_threadsafe(self._land, loop)

    def _land(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            landed = self._pending.pop(loop, {})
            self._busy.discard(loop)
        for stream, (tokens, finish) in landed.items():
            stream.tokens.extend(tokens)
            if finish is not None:
                stream.finish = finish
            stream.ready.set()


async def complete(
    engine: ChatEngine, messages: list[dict[str, str]], schema: dict[str, Any] | None, max_tokens: int
) -> tuple[str, int, int, FinishReason]:
    """The whole answer: text, prompt tokens, completion tokens, finish reason."""
    parts, prompt_tokens, tokens, finish = [], 0, 0, "stop"
    async for delta in engine.stream(messages, schema, max_tokens):
        parts.append(delta.text)
        prompt_tokens += delta.prompt_tokens
        tokens += delta.tokens
        finish = delta.finish_reason or finish
    return "".join(parts), prompt_tokens, tokens, finish
