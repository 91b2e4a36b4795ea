"""Tier 2's model: all-MiniLM-L6-v2 embeddings + a calibrated scikit-learn classifier.

`train` (behind `forgeline models classifier`) reads the Davidson et al. tweets
(hate / offensive / neither), splits them once with a fixed seed into train (60 %),
validation (20 %: calibration check and threshold choice) and test (20 %: never looked at
until `forgeline eval moderation`), fits a logistic regression calibrated by 5-fold sigmoid
scaling, and picks two thresholds on P(hate) from the validation split:

* `reject_at`: the lowest score whose items are hateful with precision >= `target_precision`;
* `approve_below`: the highest score that still lets at most `max_miss_rate` of the hateful
  validation items through.

Between the two the classifier is unsure and the item goes to the LLM judge (tier 3).
The model directory holds `head.npz` (the calibrated classifier as plain arrays: scoring
needs numpy only, no scikit-learn and no pickles), `model.json` (thresholds, metrics,
split) and the cached embeddings of the data.

A model is a build artefact, like the image model's weights: `install` (behind `forgeline
up` and `forgeline models classifier`) trains it once per machine into a cache keyed by
the data's hash and the training options, and copies it into each stack's model directory.
A fresh `.forgeline/` then starts in seconds instead of re-embedding 24,783 tweets.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from services.common.artifacts import build_once
from services.common.embeddings import embed_matrix
from services.common.events import ClassifierScores
from services.common.settings import Settings

CLASSES = ("hate", "offensive", "neither")  # Davidson's `class` column: 0, 1, 2
SPLIT_SEED = 20261122
MODEL_FILE = "head.npz"
META_FILE = "model.json"
# Part of every cache key: change it whenever `train` would make a different model from the
# same data and options, so no machine keeps serving the old one.
RECIPE = "minilm6-logreg-c2-sigmoid5"


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

    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    classes: tuple[str, ...] = CLASSES
    thresholds: Thresholds
    target_precision: float
    max_miss_rate: float
    data_sha256: str
    rows: int
    train_rows: int
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


def embed_all(texts: Sequence[str], progress: Callable[[int, int], None] | None = None, chunk: int = 1024) -> np.ndarray:
    """MiniLM embeddings of `texts` as one float32 matrix, reporting progress per chunk."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for start in range(0, len(texts), chunk):
        out[start : start + chunk] = embed_matrix(list(texts[start : start + chunk]))
        if progress is not None:
            progress(min(start + chunk, len(texts)), len(texts))
    return out


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
    progress: Callable[[int, int], None] | None = None,
    embeddings_dir: Path | None = None,
) -> ModelCard:
    """Train, calibrate, choose thresholds and write the model directory (see module docstring).

    The embeddings of the whole file are cached in `embeddings_dir` (default `out_dir`)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    started = time.monotonic()
    dataset = read_davidson(data)
    train_rows, validation_rows, test_rows = split_indices(dataset.labels)
    if limit is not None:  # a quick model for tests: fewer training rows, same held-out splits
        train_rows = train_rows[np.random.default_rng(SPLIT_SEED).permutation(len(train_rows))[:limit]]
        validation_rows = validation_rows[: max(limit // 3, 300)]
    needed = np.concatenate([train_rows, validation_rows])
    data_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    vectors = (
        _cached_embeddings(embeddings_path(embeddings_dir or out_dir, data_sha), dataset.texts, progress)[needed]
        if limit is None
        else embed_all([dataset.texts[i] for i in needed], progress)
    )
    x_train, x_val = vectors[: len(train_rows)], vectors[len(train_rows) :]
    y_train, y_val = dataset.labels[train_rows], dataset.labels[validation_rows]
    model = CalibratedClassifierCV(LogisticRegression(max_iter=2000, C=2.0), method="sigmoid", cv=5)
    model.fit(x_train, y_train)
    p_val = model.predict_proba(x_val)[:, 0]
    thresholds = choose_thresholds(p_val, y_val == 0, target_precision, max_miss_rate)
    out_dir.mkdir(parents=True, exist_ok=True)
    head = export_head(model)
    np.savez(out_dir / MODEL_FILE, coef=head["coef"], intercept=head["intercept"], a=head["a"], b=head["b"])
    card = ModelCard(
        thresholds=thresholds,
        target_precision=target_precision,
        max_miss_rate=max_miss_rate,
        data_sha256=data_sha,
        rows=len(dataset.texts),
        train_rows=len(train_rows),
        validation_rows=len(validation_rows),
        test_rows=len(test_rows),
        test_indices=[int(i) for i in test_rows],
        validation_metrics=_band_metrics(p_val, y_val == 0, thresholds),
        trained_at=time.time(),
        train_seconds=round(time.monotonic() - started, 1),
    )
    (out_dir / META_FILE).write_text(card.model_dump_json(indent=2))
    return card


def embeddings_path(directory: Path, data_sha256: str) -> Path:
    """Where the embeddings of the data file with this hash are cached."""
    return directory / f"embeddings-{data_sha256[:16]}.npy"


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
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, bool]:
    """The cache entry of the classifier for `data` and these options, trained now unless an
    earlier run did (or `retrain`). Returns the entry's directory and whether it was trained now."""
    data_sha = hashlib.sha256(require_data(data).read_bytes()).hexdigest()
    entry = cache_dir / "moderation-classifier" / cache_key(data_sha, limit, target_precision, max_miss_rate)
    trained = build_once(
        entry,
        lambda scratch: train(
            data,
            scratch,
            limit=limit,
            target_precision=target_precision,
            max_miss_rate=max_miss_rate,
            progress=progress,
            embeddings_dir=cache_dir,
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
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, META_FILE):
        shutil.copyfile(entry / name, model_dir / name)
    card = ModelCard.model_validate_json((model_dir / META_FILE).read_text())
    embeddings = embeddings_path(cache_dir, card.data_sha256)
    if embeddings.exists():  # `forgeline eval moderation` reads them beside the model
        target = embeddings_path(model_dir, card.data_sha256)
        target.unlink(missing_ok=True)
        try:
            os.link(embeddings, target)
        except OSError:  # another file system
            shutil.copyfile(embeddings, target)
    return card, trained


def _cached_embeddings(path: Path, texts: list[str], progress: Callable[[int, int], None] | None) -> np.ndarray:
    """Embeddings of every row, kept beside the model: retraining and `forgeline eval` reuse them."""
    if path.exists():
        cached: np.ndarray = np.load(path)
        if cached.shape == (len(texts), 384):
            return cached
    vectors = embed_all(texts, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _band_metrics(p_hate: np.ndarray, is_hate: np.ndarray, thresholds: Thresholds) -> dict[str, float]:
    rejected = p_hate >= thresholds.reject_at
    approved = p_hate < thresholds.approve_below
    return {
        "reject_precision": float(is_hate[rejected].mean()) if rejected.any() else 1.0,
        "miss_rate": float((approved & is_hate).sum() / max(is_hate.sum(), 1)),
        "decided_share": float((rejected | approved).mean()),
        "uncertain_share": float((~rejected & ~approved).mean()),
    }


def export_head(model: Any) -> dict[str, np.ndarray]:
    """A fitted `CalibratedClassifierCV(LogisticRegression, method="sigmoid")` as arrays:
    per fold, the regression's weights and bias and each class's sigmoid (a, b)."""
    folds = model.calibrated_classifiers_
    return {
        "coef": np.stack([f.estimator.coef_ for f in folds]).astype(np.float64),
        "intercept": np.stack([f.estimator.intercept_ for f in folds]).astype(np.float64),
        "a": np.array([[c.a_ for c in f.calibrators] for f in folds], dtype=np.float64),
        "b": np.array([[c.b_ for c in f.calibrators] for f in folds], dtype=np.float64),
    }


def head_proba(head: dict[str, np.ndarray], vectors: np.ndarray) -> np.ndarray:
    """scikit-learn's `predict_proba` for the exported head: per fold, sigmoid-calibrate each
    class's decision value, normalise the classes, then average the folds."""
    x = vectors.astype(np.float64)
    total = np.zeros((len(x), head["coef"].shape[1]))
    for coef, intercept, a, b in zip(head["coef"], head["intercept"], head["a"], head["b"], strict=True):
        decision = x @ coef.T + intercept
        proba = 1.0 / (1.0 + np.exp(a * decision + b))
        sums = proba.sum(axis=1, keepdims=True)
        total += np.where(sums == 0, 1.0 / proba.shape[1], proba / np.where(sums == 0, 1.0, sums))
    return total / len(head["coef"])


class Classifier:
    """A trained model directory, loaded for scoring (numpy only)."""

    def __init__(self, model_dir: Path) -> None:
        if not (model_dir / MODEL_FILE).exists():
            raise FileNotFoundError(f"no moderation classifier at {model_dir}: run `forgeline models classifier`")
        with np.load(model_dir / MODEL_FILE) as arrays:
            self._head = {name: arrays[name] for name in arrays.files}
        self.card = ModelCard.model_validate_json((model_dir / META_FILE).read_text())
        self.thresholds = self.card.thresholds

    def score_vectors(self, vectors: np.ndarray) -> list[ClassifierScores]:
        """Scores for precomputed embeddings."""
        probabilities = head_proba(self._head, vectors)
        return [ClassifierScores(hate=float(p[0]), offensive=float(p[1]), neither=float(p[2])) for p in probabilities]

    def score(self, texts: Sequence[str]) -> list[ClassifierScores]:
        """Scores for texts (one embedding batch, one classifier call)."""
        if not texts:
            return []
        return self.score_vectors(embed_matrix(list(texts)))

    def describe(self) -> dict[str, Any]:
        """What `/healthz` and the eval report say about the model."""
        return {"thresholds": self.thresholds.model_dump(), "validation": self.card.validation_metrics}
