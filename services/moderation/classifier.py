"""Tier 2's model: all-MiniLM-L6-v2 fine-tuned end to end with a three-class head.

`train` (behind `forgeline models classifier`) reads the Davidson et al. tweets
(hate / offensive / neither), splits them once with a fixed seed into train (60 %),
validation (20 %: threshold choice) and test (20 %: never looked at until `forgeline eval
moderation`), fine-tunes MiniLM's transformer layers and a linear head on the training split,
and picks two thresholds on P(hate) from the validation split:

* `reject_at`: the lowest score whose items are hateful with precision >= `target_precision`;
* `approve_below`: the highest score that still lets at most `max_miss_rate` of the hateful
  validation items through.

Between the two the classifier is unsure and the item goes to the LLM judge (tier 3).

Why fine-tuning, and why this recipe (NOTES, "Tier 2 fine-tuned"): a linear model over frozen
MiniLM embeddings could not tell hate from merely offensive tweets, the split that decides how
much goes to people. On two cores a full pass over the training split with gradients takes
longer than the ~10 minutes training may take, so each epoch sees every hateful row and a
fresh sample of the others (`PER_CLASS` of each), with the word embeddings frozen. The
sampling skews the head's priors; `train` corrects the head's bias back to the training
split's class shares, so P(hate) stays a probability.

The model directory holds `encoder/` (the fine-tuned MiniLM and its tokenizer: serving embeds
exactly as `services.common.embeddings.MiniLMEncoder` does, on a GPU when there is one),
`head.npz` (the head as plain arrays), `validation.npz` (the validation rows and their
embeddings, for the eval's trade-off curve) and `model.json` (thresholds, metrics, split).

A model is a build artefact, like the image model's weights: `install` (behind `forgeline
up` and `forgeline models classifier`) trains it once per machine into a cache keyed by the
data's hash and the training options, and links it into each stack's model directory.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from services.common.artifacts import build_once
from services.common.embeddings import DIMENSIONS, MiniLMEncoder, mean_pool, model_path
from services.common.events import ClassifierScores
from services.common.settings import Settings

CLASSES = ("hate", "offensive", "neither")  # Davidson's `class` column: 0, 1, 2
SPLIT_SEED = 20261122
MODEL_FILE = "head.npz"
META_FILE = "model.json"
VALIDATION_FILE = "validation.npz"
ENCODER_DIR = "encoder"
# Training: rows of each class other than hate per epoch, epochs, batch, the tokens a training
# row keeps (tweets: most are far shorter), the transformer layers left frozen, learning rates.
PER_CLASS = 4000
EPOCHS = 2
BATCH = 32
TRAIN_TOKENS = 64
FROZEN_LAYERS = 0
ENCODER_LR = 5e-5
HEAD_LR = 1e-3
# The embeddings are unit-length; scaled by this the head starts at the usual per-feature scale.
FEATURE_SCALE = math.sqrt(DIMENSIONS)
# Part of every cache key: change it whenever `train` would make a different model from the
# same data and options, so no machine keeps serving the old one.
RECIPE = f"minilm6-tuned-{PER_CLASS}x{EPOCHS}-b{BATCH}-t{TRAIN_TOKENS}-f{FROZEN_LAYERS}"

Progress = Callable[[str, int, int], None]  # (what, done, of)


def tenths(report: Progress) -> Progress:
    """`report`, called when a phase crosses a tenth of its work (a log line per batch is noise)."""
    last: dict[str, int] = {}

    def step(what: str, done: int, of: int) -> None:
        tenth = done * 10 // max(of, 1)
        if last.get(what) != tenth:
            last[what] = tenth
            report(what, done, of)

    return step


class Thresholds(BaseModel):
    """Where P(hate) decides on its own."""

    model_config = ConfigDict(frozen=True)

    reject_at: float
    approve_below: float

    def outcome(self, scores: ClassifierScores) -> Literal["reject", "approve", "uncertain"]:
        """Reject, approve, or hand on to the judge."""
        if scores.hate >= self.reject_at:
            return "reject"
        if scores.hate < self.approve_below:
            return "approve"
        return "uncertain"


class ModelCard(BaseModel):
    """`model.json`: how the model was made and how well it did on held-out data."""

    base_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    recipe: str = RECIPE
    classes: tuple[str, ...] = CLASSES
    thresholds: Thresholds
    target_precision: float
    max_miss_rate: float
    data_sha256: str
    rows: int
    train_rows: int
    rows_seen: int  # training rows with gradients, over all epochs
    validation_rows: int
    test_rows: int
    test_indices: list[int]  # rows of the data file in the held-out test split
    validation_metrics: dict[str, float]
    trained_at: float
    train_seconds: float


@dataclass(frozen=True)
class Labelled:
    """Texts and their class index (0 hate, 1 offensive, 2 neither)."""

    texts: list[str]
    labels: np.ndarray


@dataclass(frozen=True)
class Head:
    """The linear head over the encoder's unit-length embeddings (softmax over `CLASSES`)."""

    weight: np.ndarray  # (classes, DIMENSIONS)
    bias: np.ndarray  # (classes,)

    def proba(self, vectors: np.ndarray) -> np.ndarray:
        logits = vectors.astype(np.float64) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        out: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return out


def require_data(path: Path) -> Path:
    """`path`, or an error that says how to name the training data."""
    if not path.exists():
        raise FileNotFoundError(
            f"no training data at {path}: pass --data or set MODERATION_DATA_PATH to Davidson's labeled_data.csv"
        )
    return path


def read_davidson(path: Path) -> Labelled:
    """Read `labeled_data.csv` (columns `class` and `tweet`)."""
    with require_data(path).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return Labelled([r["tweet"] for r in rows], np.array([int(r["class"]) for r in rows]))


def split_indices(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 60/20/20 train/validation/test row indices, the same on every run."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        a, b = int(len(rows) * 0.6), int(len(rows) * 0.8)
        for part, chunk in zip(parts, (rows[:a], rows[a:b], rows[b:]), strict=True):
            part.append(chunk)
    train, validation, test = (np.sort(np.concatenate(p)) for p in parts)
    return train, validation, test


@functools.lru_cache(maxsize=2)
def _encoder(directory: Path) -> MiniLMEncoder:
    return MiniLMEncoder(directory)


def encode(encoder_dir: Path, texts: Sequence[str], progress: Progress | None = None, chunk: int = 512) -> np.ndarray:
    """Embeddings of `texts` by the encoder in `encoder_dir`, one float32 matrix, with progress."""
    encoder = _encoder(encoder_dir)
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for start in range(0, len(texts), chunk):
        out[start : start + chunk] = encoder.encode(list(texts[start : start + chunk]))
        if progress is not None:
            progress("embedding", min(start + chunk, len(texts)), len(texts))
    return out


def epoch_rows(labels: np.ndarray, rng: np.random.Generator, per_class: int) -> np.ndarray:
    """One epoch's rows (indices into `labels`): every hateful row, `per_class` of each other class."""
    chosen = [np.flatnonzero(labels == 0)]
    for label in range(1, len(CLASSES)):
        chosen.append(rng.permutation(np.flatnonzero(labels == label))[:per_class])
    return rng.permutation(np.concatenate(chosen))


def batches(rows: np.ndarray, lengths: np.ndarray, rng: np.random.Generator, size: int = BATCH) -> list[np.ndarray]:
    """`rows` in batches of similar length (less padding), in random order."""
    out: list[np.ndarray] = []
    pool = size * 16
    for start in range(0, len(rows), pool):
        group = rows[start : start + pool]
        group = group[np.argsort(lengths[group], kind="stable")]
        out.extend(group[i : i + size] for i in range(0, len(group), size))
    return [out[i] for i in rng.permutation(len(out))]


def fine_tune(
    texts: Sequence[str],
    labels: np.ndarray,
    encoder_dir: Path,
    *,
    per_class: int,
    seed: int = SPLIT_SEED,
    progress: Progress | None = None,
) -> tuple[Head, int]:
    """Fine-tune MiniLM and a linear head on `texts`, save the encoder and its tokenizer to
    `encoder_dir`, and return the head (its bias set back to the class shares of `labels`)
    and the number of rows trained on."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer: Any = AutoTokenizer.from_pretrained(str(model_path()))
    encoder: Any = AutoModel.from_pretrained(str(model_path()))
    tokens = tokenizer(list(texts), truncation=True, max_length=TRAIN_TOKENS)
    lengths = np.array([len(ids) for ids in tokens["input_ids"]])
    for frozen in (encoder.embeddings, *encoder.encoder.layer[:FROZEN_LAYERS]):
        frozen.requires_grad_(False)
    head = torch.nn.Linear(DIMENSIONS, len(CLASSES))
    plan = [batch for _ in range(EPOCHS) for batch in batches(epoch_rows(labels, rng, per_class), lengths, rng)]
    trained_on = np.concatenate(plan)
    steps = len(plan)
    optimiser = torch.optim.AdamW(
        [
            {"params": [p for p in encoder.parameters() if p.requires_grad], "lr": ENCODER_LR},
            {"params": head.parameters(), "lr": HEAD_LR},
        ],
        weight_decay=0.01,
    )
    warmup = max(steps // 16, 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(steps - step, 0) / max(steps - warmup, 1))
    )
    encoder.train()
    seen = 0
    for batch in plan:
        padded = tokenizer.pad({"input_ids": [tokens["input_ids"][i] for i in batch]}, return_tensors="pt")
        pooled = mean_pool(encoder(**padded).last_hidden_state, padded["attention_mask"])
        loss: Any = torch.nn.functional.cross_entropy(head(pooled * FEATURE_SCALE), torch.from_numpy(labels[batch]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        seen += len(batch)
        if progress is not None:
            progress("fine-tuning MiniLM (rows)", seen, len(trained_on))
    encoder.eval()
    with _quiet_transformers():
        encoder.save_pretrained(str(encoder_dir))
    tokenizer.save_pretrained(str(encoder_dir))
    for saved in encoder_dir.iterdir():  # the chart's containers read the models volume as another user
        saved.chmod(0o644)
    with torch.no_grad():
        weight = head.weight.numpy().astype(np.float64) * FEATURE_SCALE
        bias = head.bias.numpy().astype(np.float64)
    return Head(weight, bias + prior_shift(labels[trained_on], labels)), len(trained_on)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bar on saving: `forgeline models classifier` shows its own progress."""
    from transformers.utils import logging

    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.enable_progress_bar()


def prior_shift(sampled: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """What to add to a head's bias trained on labels `sampled` so it predicts at the class
    shares of `actual`: every epoch over-samples hate, and `actual` is what the model will meet."""
    seen = np.bincount(sampled, minlength=len(CLASSES)) / len(sampled)
    shares = np.bincount(actual, minlength=len(CLASSES)) / len(actual)
    shifted: np.ndarray = np.log(shares) - np.log(seen)
    return shifted


def choose_thresholds(p_hate: np.ndarray, is_hate: np.ndarray, target_precision: float, max_miss_rate: float) -> Thresholds:
    """The two cut-offs on P(hate) (see the module docstring), from validation scores."""
    order = np.sort(np.unique(p_hate))
    reject_at = 1.01  # never, unless some cut-off reaches the precision
    for cut in order:
        chosen = p_hate >= cut
        if chosen.sum() >= 5 and is_hate[chosen].mean() >= target_precision:
            reject_at = float(cut)
            break
    hateful = np.sort(p_hate[is_hate])
    allowed_misses = int(np.floor(max_miss_rate * len(hateful)))
    approve_below = float(hateful[allowed_misses]) if len(hateful) else 0.0
    return Thresholds(reject_at=reject_at, approve_below=min(approve_below, reject_at))


def train(
    data: Path,
    out_dir: Path,
    *,
    limit: int | None = None,
    target_precision: float = 0.9,
    max_miss_rate: float = 0.02,
    progress: Progress | None = None,
) -> ModelCard:
    """Fine-tune, choose thresholds and write the model directory (see module docstring)."""
    started = time.monotonic()
    dataset = read_davidson(data)
    train_rows, validation_rows, test_rows = split_indices(dataset.labels)
    per_class = PER_CLASS
    if limit is not None:  # a quick model for tests: fewer training rows, same held-out splits
        train_rows = train_rows[np.random.default_rng(SPLIT_SEED).permutation(len(train_rows))[:limit]]
        validation_rows = validation_rows[: max(limit // 3, 300)]
        per_class = min(PER_CLASS, limit // 4)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder_dir = out_dir / ENCODER_DIR
    head, seen = fine_tune(
        [dataset.texts[i] for i in train_rows], dataset.labels[train_rows], encoder_dir, per_class=per_class, progress=progress
    )
    # Validation is embedded as serving embeds: by the saved encoder.
    vectors = encode(encoder_dir, [dataset.texts[i] for i in validation_rows], progress)
    _encoder.cache_clear()  # its path is a scratch directory about to be renamed: free the model now
    p_val = head.proba(vectors)[:, 0]
    y_val = dataset.labels[validation_rows]
    thresholds = choose_thresholds(p_val, y_val == 0, target_precision, max_miss_rate)
    np.savez(out_dir / MODEL_FILE, weight=head.weight, bias=head.bias)
    np.savez(out_dir / VALIDATION_FILE, rows=validation_rows, vectors=vectors)
    card = ModelCard(
        thresholds=thresholds,
        target_precision=target_precision,
        max_miss_rate=max_miss_rate,
        data_sha256=hashlib.sha256(data.read_bytes()).hexdigest(),
        rows=len(dataset.texts),
        train_rows=len(train_rows),
        rows_seen=seen,
        validation_rows=len(validation_rows),
        test_rows=len(test_rows),
        test_indices=[int(i) for i in test_rows],
        validation_metrics=_band_metrics(p_val, y_val == 0, thresholds),
        trained_at=time.time(),
        train_seconds=round(time.monotonic() - started, 1),
    )
    (out_dir / META_FILE).write_text(card.model_dump_json(indent=2))
    return card


def cache_key(data_sha256: str, limit: int | None, target_precision: float, max_miss_rate: float) -> str:
    """The cache entry of a model: same data and same options give the same model."""
    return f"{RECIPE}-{data_sha256[:16]}-{limit or 'all'}-p{target_precision:g}-m{max_miss_rate:g}"


def train_cached(
    data: Path,
    cache_dir: Path,
    *,
    limit: int | None = None,
    target_precision: float = 0.9,
    max_miss_rate: float = 0.02,
    retrain: bool = False,
    progress: Progress | None = None,
) -> tuple[Path, bool]:
    """The cache entry of the classifier for `data` and these options, trained now unless an
    earlier run did (or `retrain`). Returns the entry's directory and whether it was trained now."""
    data_sha = hashlib.sha256(require_data(data).read_bytes()).hexdigest()
    entry = cache_dir / "moderation-classifier" / cache_key(data_sha, limit, target_precision, max_miss_rate)
    trained = build_once(
        entry,
        lambda scratch: train(
            data, scratch, limit=limit, target_precision=target_precision, max_miss_rate=max_miss_rate, progress=progress
        ),
        rebuild=retrain,
    )
    return entry, trained


def training_options(settings: Settings) -> dict[str, Any]:
    """The options a stack trains with (`MODERATION_TRAIN_LIMIT` and the tier's targets)."""
    return {
        "limit": settings.moderation.train_limit,
        "target_precision": settings.moderation.reject_precision,
        "max_miss_rate": settings.moderation.max_miss_rate,
    }


def install(data: Path, model_dir: Path, cache_dir: Path, **options: Any) -> tuple[ModelCard, bool]:
    """Put the classifier for `data` into `model_dir` from the cache, training it there first
    when needed (`options` as for `train_cached`). Returns its card and whether it was trained now."""
    entry, trained = train_cached(data, cache_dir, **options)
    # Only the model's own entries are replaced (`--path` may name a folder that holds more), as
    # hard links where the file system allows: the encoder's weights are the bulk of a model.
    model_dir.mkdir(parents=True, exist_ok=True)
    for source in entry.iterdir():
        target = model_dir / source.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(source), str(target))
    return ModelCard.model_validate_json((model_dir / META_FILE).read_text()), trained


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def _band_metrics(p_hate: np.ndarray, is_hate: np.ndarray, thresholds: Thresholds) -> dict[str, float]:
    rejected = p_hate >= thresholds.reject_at
    approved = p_hate < thresholds.approve_below
    return {
        "reject_precision": float(is_hate[rejected].mean()) if rejected.any() else 1.0,
        "miss_rate": float((approved & is_hate).sum() / max(is_hate.sum(), 1)),
        "decided_share": float((rejected | approved).mean()),
        "uncertain_share": float((~rejected & ~approved).mean()),
    }


def installed(model_dir: Path) -> bool:
    """Whether `model_dir` holds a classifier this code serves: one made by the current recipe
    (a directory from an older release is trained again, not misread)."""
    try:
        card = ModelCard.model_validate_json((model_dir / META_FILE).read_text())
    except (OSError, ValueError):
        return False
    return card.recipe == RECIPE and (model_dir / MODEL_FILE).exists()


class Classifier:
    """A trained model directory, loaded for scoring."""

    def __init__(self, model_dir: Path) -> None:
        if not installed(model_dir):
            raise FileNotFoundError(
                f"no moderation classifier of recipe {RECIPE} at {model_dir}: run `forgeline models classifier`"
            )
        with np.load(model_dir / MODEL_FILE) as arrays:
            self._head = Head(arrays["weight"], arrays["bias"])
        self.card = ModelCard.model_validate_json((model_dir / META_FILE).read_text())
        self.thresholds = self.card.thresholds
        self.model_dir = model_dir
        self.encoder_dir = model_dir / ENCODER_DIR

    def score_vectors(self, vectors: np.ndarray) -> list[ClassifierScores]:
        """Scores for embeddings made by this model's encoder."""
        return [ClassifierScores(hate=float(p[0]), offensive=float(p[1]), neither=float(p[2])) for p in self._head.proba(vectors)]

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embeddings of `texts` by this model's encoder (on the CPU; the Serve replica loads its own)."""
        return encode(self.encoder_dir, texts, progress)

    def score(self, texts: Sequence[str]) -> list[ClassifierScores]:
        """Scores for texts (one embedding batch, one head call)."""
        if not texts:
            return []
        return self.score_vectors(self.embed(texts))

    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        """The validation rows threshold choice used, and their embeddings."""
        with np.load(self.model_dir / VALIDATION_FILE) as arrays:
            return arrays["rows"], arrays["vectors"]

    def describe(self) -> dict[str, Any]:
        """What `/healthz` and the eval report say about the model."""
        card = self.card
        return {"recipe": card.recipe, "thresholds": self.thresholds.model_dump(), "validation": card.validation_metrics}
