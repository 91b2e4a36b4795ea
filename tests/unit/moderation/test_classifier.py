"""The classifier's machine-wide model cache: trained once per data and options, linked
into each stack's model directory, never left half-written (MiniLM faked: no fine-tuning)."""

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from services.moderation import classifier
from services.moderation.classifier import (
    CLASSES,
    META_FILE,
    MODEL_FILE,
    RECIPE,
    Classifier,
    Head,
    batches,
    epoch_rows,
    install,
    installed,
    tenths,
    train_cached,
)

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
def tuned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace fine-tuning and the encoder with deterministic fakes; count the rows tuned on."""
    counts: list[int] = []

    def fine_tune(texts: Sequence[str], labels: np.ndarray, encoder_dir: Path, **_: object) -> tuple[Head, int]:
        counts.append(len(texts))
        encoder_dir.mkdir(parents=True)
        (encoder_dir / "model.safetensors").write_bytes(b"weights")
        weight = np.zeros((len(CLASSES), 384))
        weight[np.arange(len(CLASSES)), np.arange(len(CLASSES))] = 4.0
        return Head(weight, np.zeros(len(CLASSES))), len(texts)

    def encode(encoder_dir: Path, texts: Sequence[str], progress: object = None, chunk: int = 512) -> np.ndarray:
        assert (encoder_dir / "model.safetensors").exists(), "texts are embedded by the model's own encoder"
        out = np.random.default_rng(len(texts)).normal(0, 0.3, (len(texts), 384)).astype(np.float32)
        for row, text in enumerate(texts):
            out[row, WORDS.index(text.split()[0])] += 2.0
        return out

    monkeypatch.setattr(classifier, "fine_tune", fine_tune)
    monkeypatch.setattr(classifier, "encode", encode)
    return counts


def options(**overrides: object) -> dict[str, object]:
    return {"target_precision": 0.5, "max_miss_rate": 0.05, **overrides}


def test_a_model_is_trained_once_then_every_stack_gets_a_copy(tmp_path: Path, data: Path, tuned: list[int]) -> None:
    cache = tmp_path / "cache"
    card, trained = install(data, tmp_path / "home-a" / "model", cache, **options())
    assert trained and tuned == [216], "fine-tuned on the training split (60 %) only"
    again, trained_again = install(data, tmp_path / "home-b" / "model", cache, **options())
    assert not trained_again and tuned == [216], "the second stack must not train"
    assert again == card
    loaded = Classifier(tmp_path / "home-b" / "model")
    assert loaded.thresholds == card.thresholds
    assert [s.hate > 0.5 for s in loaded.score(["hateword here", "hello there"])] == [True, False]
    rows, vectors = loaded.validation()
    assert len(rows) == card.validation_rows == len(vectors), "the eval's trade-off curve reads them"


def test_a_directory_from_another_recipe_is_not_served(tmp_path: Path, data: Path, tuned: list[int]) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "notes.txt").write_text("the operator's")
    install(data, model, tmp_path / "cache", **options())
    assert (model / "notes.txt").exists(), "install replaces the model's files only"
    assert installed(model)
    card = (model / META_FILE).read_text()
    (model / META_FILE).unlink()  # a link into the cache: write a new file, not through it
    (model / META_FILE).write_text(card.replace(RECIPE, "minilm6-logreg-c2-sigmoid5"))
    assert not installed(model)
    with pytest.raises(FileNotFoundError, match="forgeline models classifier"):
        Classifier(model)
    assert installed(train_cached(data, tmp_path / "cache", **options())[0]), "the cache entry is untouched"


def test_other_options_or_other_data_make_another_model(tmp_path: Path, data: Path, tuned: list[int]) -> None:
    cache = tmp_path / "cache"
    first, _ = train_cached(data, cache, **options())
    stricter, trained = train_cached(data, cache, **options(target_precision=0.9))
    assert trained and stricter != first
    with data.open("a", encoding="utf-8") as handle:
        handle.write("2,hello again\n")
    changed, trained = train_cached(data, cache, **options())
    assert trained and changed != first and len(tuned) == 3


def test_retrain_trains_again(tmp_path: Path, data: Path, tuned: list[int]) -> None:
    entry, _ = train_cached(data, tmp_path / "cache", **options())
    again, trained = train_cached(data, tmp_path / "cache", retrain=True, **options())
    assert trained and again == entry and (entry / MODEL_FILE).exists()


def test_a_failed_training_leaves_no_entry_that_a_later_run_would_trust(
    tmp_path: Path, data: Path, tuned: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed mid-fit")

    choose_thresholds = classifier.choose_thresholds
    monkeypatch.setattr(classifier, "choose_thresholds", crash)  # after the encoder is written
    with pytest.raises(RuntimeError):
        train_cached(data, tmp_path / "cache", **options())
    entries = tmp_path / "cache" / "moderation-classifier"
    assert not entries.exists() or not any(entries.iterdir()), "neither an entry nor its scratch directory is left"
    monkeypatch.setattr(classifier, "choose_thresholds", choose_thresholds)
    _, trained = train_cached(data, tmp_path / "cache", **options())
    assert trained


def test_missing_data_names_the_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="MODERATION_DATA_PATH"):
        install(tmp_path / "absent.csv", tmp_path / "model", tmp_path / "cache")


def test_every_epoch_sees_every_hateful_row_and_a_fresh_sample_of_the_others() -> None:
    labels = np.array([0] * 10 + [1] * 100 + [2] * 40)
    rng = np.random.default_rng(0)
    first, second = epoch_rows(labels, rng, per_class=30), epoch_rows(labels, rng, per_class=30)
    for rows in (first, second):
        assert np.bincount(labels[rows]).tolist() == [10, 30, 30] and len(set(rows.tolist())) == len(rows)
    assert set(first[labels[first] == 1]) != set(second[labels[second] == 1])


def test_batches_hold_every_row_once_grouped_by_length() -> None:
    rows = np.arange(1000)
    lengths = np.random.default_rng(1).integers(5, 64, 1000)
    out = batches(rows, lengths, np.random.default_rng(2), size=32)
    assert sorted(np.concatenate(out).tolist()) == rows.tolist()
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in out])
    assert spread < (lengths.max() - lengths.min()) / 4, "a batch pads to its longest row"


def test_progress_is_reported_once_a_tenth() -> None:
    seen: list[int] = []
    step = tenths(lambda what, done, of: seen.append(done))
    for done in range(0, 1001, 32):
        step("rows", done, 1000)
    step("rows", 1000, 1000)
    assert len(seen) == 11 and seen[-1] == 1000
