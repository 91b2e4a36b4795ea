"""How the toxicity guardrail treats the shop's own copy and labelled text (part of
`forgeline eval moderation`, key `email_guardrail`).

* the seeded templates, filled in as the template backend and the fallback send them, run
  through the whole check (the policy's rules and the classifier): every failure is a false
  positive, the shop's own copy refused;
* the classifier's part on the Davidson validation split (the split tier 2's thresholds come
  from; its embeddings are stored with the model): at each cut-off, the share of clean tweets
  it would refuse and of hateful and offensive ones it would let through, to choose
  `EMAIL_MAX_TOXICITY` from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from services.email.guardrails import check_toxicity, toxicity
from services.moderation.classifier import CLASSES, Classifier
from services.moderation.rules import CompiledRules

CUT_OFFS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
GuardOptions = tuple[CompiledRules, float, frozenset[str]]  # the policy's rules, EMAIL_MAX_TOXICITY, EMAIL_REFUSED_SIGNALS


def guardrail_report(
    classifier: Classifier, guard: GuardOptions, drafts: Sequence[str], validation_labels: np.ndarray
) -> dict[str, Any]:
    """The `email_guardrail` part of the eval report."""
    rules, max_toxicity, refused = guard
    scores = classifier.score(drafts)
    results = [check_toxicity(rules.evaluate(text), s, max_toxicity, refused) for text, s in zip(drafts, scores, strict=True)]
    by_reason = Counter(part.split(":", 1)[0] for r in results if not r.passed for part in r.reason.split("; "))
    values = np.array([toxicity(s) for s in scores])
    _, vectors = classifier.validation()
    tox = np.array([toxicity(s) for s in classifier.score_vectors(vectors)])
    clean = validation_labels == CLASSES.index("neither")

    def passed(mask: np.ndarray, cut: float) -> float:
        return round(float((tox[mask] < cut).mean()), 4)

    return {
        "max_toxicity": max_toxicity,
        "policy_country": rules.country,
        "refused_signals": sorted(refused),
        "seeded_templates": {
            "drafts": len(drafts),
            "failed": sum(not r.passed for r in results),
            "failed_by": dict(by_reason),
            "toxicity_p50": round(float(np.median(values)), 4) if len(values) else None,
            "toxicity_max": round(float(values.max()), 4) if len(values) else None,
        },
        "davidson_validation": {
            "items": {name: int((validation_labels == k).sum()) for k, name in enumerate(CLASSES)},
            "cut_offs": [
                {
                    "max_toxicity": cut,
                    "clean_refused": round(1 - passed(clean, cut), 4),
                    "hate_passed": passed(validation_labels == CLASSES.index("hate"), cut),
                    "offensive_passed": passed(validation_labels == CLASSES.index("offensive"), cut),
                    "deployed": cut == max_toxicity,
                }
                for cut in sorted({*CUT_OFFS, max_toxicity})
            ],
        },
    }
