from collections.abc import Sequence
from typing import cast

import numpy as np
import pytest

from services.common.events import ClassifierScores
from services.email.evaluate import guardrail_report
from services.moderation.classifier import Classifier
from services.moderation.policy import default_policy
from services.moderation.rules import RuleBook

pytestmark = pytest.mark.unit


class StubClassifier:
    """Toxicity is the first number in a text (drafts) or the vector's value (validation)."""

    def score(self, texts: Sequence[str]) -> list[ClassifierScores]:
        return [self._scores(float(t.split()[0])) for t in texts]

    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(6), np.array([[0.9], [0.6], [0.3], [0.8], [0.25], [0.1]])

    def score_vectors(self, vectors: np.ndarray) -> list[ClassifierScores]:
        return [self._scores(float(v[0])) for v in vectors]

    @staticmethod
    def _scores(toxicity: float) -> ClassifierScores:
        return ClassifierScores(hate=toxicity / 2, offensive=toxicity / 2, neither=1 - toxicity)


def test_the_report_counts_refused_drafts_by_reason_and_each_cut_off_on_validation() -> None:
    rules = RuleBook(default_policy()).for_country("US")
    drafts = ["0.1 Your cart is waiting", "0.7 Your cart is waiting", "0.2 Only an idiot leaves this", "0.05 Welcome back"]
    labels = np.array([0, 0, 1, 1, 2, 2])  # hate, offensive, neither: two each
    report = guardrail_report(cast(Classifier, StubClassifier()), (rules, 0.5, frozenset({"insult"})), drafts, labels)
    seeded = report["seeded_templates"]
    assert (seeded["drafts"], seeded["failed"], seeded["failed_by"]) == (4, 2, {"classifier": 1, "policy": 1})
    assert seeded["toxicity_max"] == 0.7
    at = {row["max_toxicity"]: row for row in report["davidson_validation"]["cut_offs"]}
    # At 0.5: the hateful 0.9 and 0.6 refused; of the offensive, 0.3 passes; no clean text (0.25, 0.1) refused.
    assert (at[0.5]["hate_passed"], at[0.5]["offensive_passed"], at[0.5]["clean_refused"], at[0.5]["deployed"]) == (
        0.0,
        0.5,
        0.0,
        True,
    )
    assert at[0.2]["clean_refused"] == 0.5
