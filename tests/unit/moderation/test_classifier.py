"""The classifier's machine-wide model cache: trained once per data and options, copied
into each stack's model directory, never left half-written (embeddings faked: no MiniLM)."""

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from services.moderation import classifier
from services.moderation.classifier import MODEL_FILE, Classifier, embeddings_path, install, train_cached

pytestmark = pytest.mark.unit

WORDS = ("hateword", "rude", "hello")  # one per class: the fake embedding separates them


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "labeled_data.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["class", "tweet"])
        writer.writeheader()
        for i in range(360):
            label = i % 3
            writer.writerow({"class": label, "tweet": f"{WORDS[label]} number {i}"})
    return path


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace MiniLM with a deterministic embedding and count the texts it embeds."""
    counts: list[int] = []

    def fake(texts: Sequence[str], progress: Callable[[int, int], None] | None = None, chunk: int = 1024) -> np.ndarray:
        counts.append(len(texts))
        rng = np.random.default_rng(len(texts))
        out = rng.normal(0, 0.3, (len(texts), 384)).astype(np.float32)
        for row, text in enumerate(texts):
            out[row, WORDS.index(text.split()[0])] += 2.0
        return out

    monkeypatch.setattr(classifier, "embed_all", fake)
    return counts


def options(**overrides: object) -> dict[str, object]:
    return {"target_precision": 0.5, "max_miss_rate": 0.05, **overrides}


def test_a_model_is_trained_once_then_every_stack_gets_a_copy(tmp_path: Path, data: Path, embedded: list[int]) -> None:
    cache = tmp_path / "cache"
    card, trained = install(data, tmp_path / "home-a" / "model", cache, **options())
    assert trained and embedded == [360]
    again, trained_again = install(data, tmp_path / "home-b" / "model", cache, **options())
    assert not trained_again and embedded == [360], "the second stack must not embed or train"
    assert again == card
    loaded = Classifier(tmp_path / "home-b" / "model")
    assert loaded.thresholds == card.thresholds
    assert embeddings_path(tmp_path / "home-b" / "model", card.data_sha256).exists(), "eval reads them beside the model"


def test_other_options_or_other_data_make_another_model_but_reuse_the_embeddings(
    tmp_path: Path, data: Path, embedded: list[int]
) -> None:
    cache = tmp_path / "cache"
    first, _ = train_cached(data, cache, **options())
    stricter, trained = train_cached(data, cache, **options(target_precision=0.9))
    assert trained and stricter != first
    assert embedded == [360], "the same data is embedded once"
    with data.open("a", encoding="utf-8") as handle:
        handle.write("2,hello again\n")
    changed, trained = train_cached(data, cache, **options())
    assert trained and changed != first and embedded == [360, 361]


def test_retrain_trains_again(tmp_path: Path, data: Path, embedded: list[int]) -> None:
    entry, _ = train_cached(data, tmp_path / "cache", **options())
    again, trained = train_cached(data, tmp_path / "cache", retrain=True, **options())
    assert trained and again == entry and (entry / MODEL_FILE).exists()


def test_a_failed_training_leaves_no_entry_that_a_later_run_would_trust(
    tmp_path: Path, data: Path, embedded: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed mid-fit")

    export_head = classifier.export_head
    monkeypatch.setattr(classifier, "export_head", crash)
    with pytest.raises(RuntimeError):
        train_cached(data, tmp_path / "cache", **options())
    entries = tmp_path / "cache" / "moderation-classifier"
    assert not entries.exists() or not any(entries.iterdir()), "neither an entry nor its scratch directory is left"
    monkeypatch.setattr(classifier, "export_head", export_head)
    _, trained = train_cached(data, tmp_path / "cache", **options())
    assert trained


def test_missing_data_names_the_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="MODERATION_DATA_PATH"):
        install(tmp_path / "absent.csv", tmp_path / "model", tmp_path / "cache")
