"""Quality of the whole moderation pipeline on labelled data (`forgeline eval moderation`).

The same decision functions as the services, in one process: tier 1 `RuleBook`, tier 2
the trained classifier under its thresholds, tier 3 the configured LLM backend routed by
`needs_human`. Items a human would see are counted as `human`; metrics are given for the
automatic decisions alone and with humans assumed right.

Datasets: HateCheck (`test_suite_cases.csv`; never used for training or thresholds) and the
held-out 20 % test split of Davidson et al. that `forgeline models classifier` recorded.
"Hateful" is the positive class; "clean" is HateCheck's non-hateful cases and Davidson's
`neither` (Davidson's `offensive` is neither: it is reported on its own).

The trade-off curve (`tradeoff`): tier 2's thresholds chosen on the validation split for each
of a grid of error budgets, as training chooses them for its one budget, then applied to both
datasets' tier-2 scores: the share of items left in the uncertain band (the judge's, and with
the template judge the humans') against the automatic false removals and misses, so an
operator can pick a budget. Tier 1's decisions are the same at every point.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.common.events import ClassifierScores, ContentSubmitted, JudgeVerdict, ModerationTask
from services.common.llm import Completion, LLMBackend, LLMRequest, generate_validated
from services.common.llm_local import Chat
from services.email.evaluate import GuardOptions, guardrail_report
from services.moderation.classifier import (
    CLASSES,
    Classifier,
    Labelled,
    Thresholds,
    choose_thresholds,
    read_davidson,
)
from services.moderation.handlers import escalate, judge_categories, judge_request, needs_human
from services.moderation.rules import RuleBook

TARGETS = {
    "fpr_clean": "< 0.001 (clean content wrongly removed)",
    "fnr": "< 0.01",
    "tier_mix": {"rules": 0.60, "classifier": 0.35, "judge": 0.05},
    "human_share": "0.01-0.02",
    # Issue 24's goals per dataset, for the automatic decisions: at most this share to humans,
    # of clean items removed, of hateful items approved.
    "goals": {
        "davidson_test": {"human_share": 0.15, "fpr_clean": 0.005, "fnr": 0.1},
        "hatecheck": {"human_share": 0.3, "fpr_clean": 0.1, "fnr": 0.2},
    },
}
# The curve's error budgets: (precision of tier 2's rejections, share of hateful items it may
# approve), on the validation split. Where no cut-off reaches a precision there, tier 2 never
# rejects at that budget (`reject_at` above 1).
BUDGETS: tuple[tuple[float, float], ...] = tuple((p, m) for p in (0.4, 0.5, 0.6, 0.7, 0.8) for m in (0.02, 0.05, 0.1, 0.2, 0.3))
_EVAL_TENANT = uuid.UUID(int=0)


@dataclass(frozen=True)
class Case:
    """One labelled text."""

    text: str
    hateful: bool
    clean: bool
    group: str  # HateCheck functionality, or the Davidson class


@dataclass(frozen=True)
class Outcome:
    """Which tier settled the item and how (`human`: decision None, a reviewer's call)."""

    tier: str
    decision: str | None
    scores: ClassifierScores | None = None  # tier 2's, for the items tier 1 escalated


class RecordingJudge:
    """Answers as `inner` does, and keeps each judge request as a chat (`--save-judge-chats`):
    the uncertain band, to be answered on a machine with a GPU."""

    def __init__(self, inner: LLMBackend, chats: dict[str, Chat]) -> None:
        self.name = inner.name
        self.chats = chats  # by key, filled in as requests come
        self._inner = inner

    async def complete(self, request: LLMRequest) -> Completion:
        chat = Chat.of(request)
        self.chats[chat.key()] = chat
        return await self._inner.complete(request)


class RecordedJudge:
    """The judge's answers from a file written by `python -m forgeline.bench.llm --chats FILE
    --answer` (the application's engine and weights, on the lent GPU), found by the chat's key.
    A retry after an invalid answer gets the same answer, as greedy decoding would give."""

    FACTS = (
        "command",
        "measured_at",
        "model",
        "weights",
        "device",
        "dtype",
        "chats",
        "seconds",
        "answers_per_s",
        "hit_token_limit",
    )

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.name = "recorded"
        self.source = {"file": path.name, **{k: data.get(k) for k in self.FACTS}}
        self._answers = {
            a["key"]: Completion(a["text"], a["prompt_tokens"], a["completion_tokens"], truncated=a["finish"] == "length")
            for a in data["answers"]
        }

    async def complete(self, request: LLMRequest) -> Completion:
        answer = self._answers.get(Chat.of(request).key())
        if answer is None:
            raise LookupError(
                "a judge request has no recorded answer: the code, data or model changed since the chats were saved; "
                "save them again with --save-judge-chats and answer them again"
            )
        return answer


def read_hatecheck(path: Path) -> list[Case]:
    """HateCheck's functional test cases."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Case(r["test_case"].strip(), r["label_gold"] == "hateful", r["label_gold"] != "hateful", r["functionality"]) for r in rows
    ]


def davidson_cases(data: Labelled, test_indices: Sequence[int]) -> list[Case]:
    """The held-out Davidson rows recorded in the model card."""
    return [
        Case(data.texts[i], int(data.labels[i]) == 0, int(data.labels[i]) == 2, CLASSES[int(data.labels[i])])
        for i in test_indices
    ]


async def run_pipeline(
    cases: Sequence[Case],
    book: RuleBook,
    classifier: Classifier,
    llm: LLMBackend,
    *,
    min_confidence: float,
    attempts: int,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Outcome]:
    """Run every case through the tiers."""
    outcomes: list[Outcome | None] = [None] * len(cases)
    escalated: list[tuple[int, ModerationTask]] = []
    for i, case in enumerate(cases):
        report = book.evaluate(case.text, "US")
        if report.outcome == "escalate":
            item = ContentSubmitted(tenant_id=_EVAL_TENANT, text=case.text, author_id="eval", country="US")
            escalated.append((i, escalate(item, report.policy_version, report.matches)))
        elif report.outcome == "review":  # the policy sends the category to a person
            outcomes[i] = Outcome("human", None)
        else:
            outcomes[i] = Outcome("rules", report.outcome)
    progress(f"tier 1 decided {len(cases) - len(escalated)} of {len(cases)}; scoring {len(escalated)} with the classifier")
    rows = [i for i, _ in escalated]

    def embedding(what: str, done: int, of: int) -> None:
        progress(f"{what} {done}/{of}")

    scores: list[ClassifierScores] = []
    if rows:  # the encoder loads only when tier 1 left something to score
        scores = classifier.score_vectors(await asyncio.to_thread(classifier.embed, [cases[i].text for i in rows], embedding))
    judged: list[tuple[int, ModerationTask]] = []
    for (i, task), score in zip(escalated, scores, strict=True):
        outcome = classifier.thresholds.outcome(score)
        if outcome == "uncertain":
            judged.append((i, task.model_copy(update={"scores": score})))
        else:
            outcomes[i] = Outcome("classifier", outcome, score)
    progress(f"tier 2 decided {len(escalated) - len(judged)}; asking the {llm.name} judge about {len(judged)}")
    gate = asyncio.Semaphore(8)

    async def judge(i: int, task: ModerationTask) -> None:
        categories = judge_categories(book.policy, task.country)
        async with gate:
            answer = await generate_validated(llm, judge_request(task, categories), JudgeVerdict, attempts)
        verdict = answer.answer
        if needs_human(verdict, "; ".join(answer.errors), min_confidence, categories) is not None or verdict is None:
            outcomes[i] = Outcome("human", None, task.scores)
        else:
            outcomes[i] = Outcome("judge", verdict.decision, task.scores)

    await asyncio.gather(*(judge(i, task) for i, task in judged))
    return [o for o in outcomes if o is not None]


def _rates(pairs: list[tuple[Case, str]]) -> dict[str, Any]:
    tp = sum(1 for c, d in pairs if c.hateful and d == "reject")
    fp = sum(1 for c, d in pairs if not c.hateful and d == "reject")
    fn = sum(1 for c, d in pairs if c.hateful and d == "approve")
    tn = sum(1 for c, d in pairs if not c.hateful and d == "approve")
    clean = [(c, d) for c, d in pairs if c.clean]
    return {
        "n": len(pairs),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "fpr": _ratio(fp, fp + tn),
        "fnr": _ratio(fn, fn + tp),
        "fpr_clean": _ratio(sum(1 for _, d in clean if d == "reject"), len(clean)),
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def metrics(cases: Sequence[Case], outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Whole-pipeline, per-tier and per-group numbers for one dataset."""
    automatic = [(c, o.decision) for c, o in zip(cases, outcomes, strict=True) if o.decision is not None]
    oracle = [(c, o.decision or ("reject" if c.hateful else "approve")) for c, o in zip(cases, outcomes, strict=True)]
    tiers = Counter(o.tier for o in outcomes)
    per_tier = {}
    for tier in ("rules", "classifier", "judge"):
        mine = [(c, o.decision) for c, o in zip(cases, outcomes, strict=True) if o.tier == tier and o.decision]
        rejects = [c for c, d in mine if d == "reject"]
        approvals = [c for c, d in mine if d == "approve"]
        per_tier[tier] = {
            "decided": len(mine),
            "rejected": len(rejects),
            "reject_precision": _ratio(sum(c.hateful for c in rejects), len(rejects)),
            "approved": len(approvals),
            "hateful_approved": sum(c.hateful for c in approvals),
            "clean_rejected": sum(c.clean for c in rejects),
        }
    groups: dict[str, list[tuple[Case, Outcome]]] = defaultdict(list)
    for c, o in zip(cases, outcomes, strict=True):
        groups[c.group].append((c, o))
    per_group = {
        name: {
            "n": len(items),
            "hateful": items[0][0].hateful,
            "rejected_share": _ratio(sum(o.decision == "reject" for _, o in items), len(items)),
            "correct_share_automatic": _ratio(
                sum((o.decision == "reject") == c.hateful for c, o in items if o.decision), sum(1 for _, o in items if o.decision)
            ),
            "tier_mix": {t: _ratio(n, len(items)) for t, n in Counter(o.tier for _, o in items).items()},
        }
        for name, items in sorted(groups.items())
    }
    return {
        "items": len(cases),
        "automatic": _rates(automatic),
        "with_human_review": _rates(oracle),
        "tier_mix": {t: _ratio(tiers.get(t, 0), len(cases)) for t in ("rules", "classifier", "judge", "human")},
        "per_tier": per_tier,
        "per_group": per_group,
    }


def operating_points(
    p_hate: np.ndarray, is_hate: np.ndarray, budgets: Sequence[tuple[float, float]]
) -> list[tuple[float, float, Thresholds]]:
    """Tier 2's thresholds for each (precision, miss rate) budget, from validation scores."""
    return [(p, m, choose_thresholds(p_hate, is_hate, p, m)) for p, m in budgets]


def tradeoff(cases: Sequence[Case], outcomes: Sequence[Outcome], points: Sequence[Thresholds]) -> list[dict[str, Any]]:
    """Each operating point on one dataset: the share of items in the uncertain band, and the
    automatic false removals (clean) and misses (hateful) of the decisions made without it."""
    rows = []
    for thresholds in points:
        pairs: list[tuple[Case, str]] = []
        band = 0
        for case, outcome in zip(cases, outcomes, strict=True):
            if outcome.decision is not None and outcome.tier == "rules":
                pairs.append((case, outcome.decision))
                continue
            decided = thresholds.outcome(outcome.scores) if outcome.scores is not None else "uncertain"
            if decided == "uncertain":
                band += 1
            else:
                pairs.append((case, decided))
        rates = _rates(pairs)
        rows.append({"band_share": _ratio(band, len(cases)), "fpr_clean": rates["fpr_clean"], "fnr": rates["fnr"]})
    return rows


async def evaluate(
    book: RuleBook,
    model_dir: Path,
    davidson: Path,
    hatecheck: Path,
    llm: LLMBackend,
    *,
    min_confidence: float,
    attempts: int,
    email: tuple[GuardOptions, Sequence[str]] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """The `forgeline eval moderation` report: both datasets, the targets, the model's card,
    and with `email` (the guardrail's options and the shop's drafts) the email toxicity
    guardrail's part (`services.email.evaluate`)."""
    classifier = Classifier(model_dir)
    card = classifier.card
    report: dict[str, Any] = {
        "policy_version": book.policy.version,
        "judge_backend": llm.name,
        **({"judge_answers": llm.source} if isinstance(llm, RecordedJudge) else {}),
        "thresholds": card.thresholds.model_dump(),
        "classifier": {
            "recipe": card.recipe,
            "train_rows": card.train_rows,
            "rows_seen": card.rows_seen,
            "train_seconds": card.train_seconds,
            "validation": card.validation_metrics,
        },
        "targets": TARGETS,
    }
    options: dict[str, Any] = {"min_confidence": min_confidence, "attempts": attempts, "progress": progress}
    hatecheck_cases: list[Case] = []
    hatecheck_outcomes: list[Outcome] | None = None
    if await asyncio.to_thread(hatecheck.exists):
        progress(f"HateCheck: {hatecheck}")
        hatecheck_cases = await asyncio.to_thread(read_hatecheck, hatecheck)
        hatecheck_outcomes = await run_pipeline(hatecheck_cases, book, classifier, llm, **options)
        report["hatecheck"] = metrics(hatecheck_cases, hatecheck_outcomes)
    else:
        report["hatecheck"] = f"skipped: no {hatecheck}"
    if hashlib.sha256(await asyncio.to_thread(davidson.read_bytes)).hexdigest() != card.data_sha256:
        raise ValueError(f"{davidson} is not the file the classifier was trained on: retrain with `forgeline models classifier`")
    progress(f"Davidson held-out split ({card.test_rows} rows): {davidson}")
    data = read_davidson(davidson)
    cases = davidson_cases(data, card.test_indices)
    davidson_outcomes = await run_pipeline(cases, book, classifier, llm, **options)
    report["davidson_test"] = metrics(cases, davidson_outcomes)
    progress("trade-off curve: thresholds per error budget on the validation split")
    validation, matrix = classifier.validation()
    p_val = np.array([s.hate for s in classifier.score_vectors(matrix)])
    current = (card.target_precision, card.max_miss_rate)
    budgets = [*BUDGETS, current] if current not in BUDGETS else list(BUDGETS)
    points = operating_points(p_val, data.labels[validation] == 0, budgets)
    curves = {"davidson_test": tradeoff(cases, davidson_outcomes, [t for _, _, t in points])}
    if hatecheck_outcomes is not None:
        curves["hatecheck"] = tradeoff(hatecheck_cases, hatecheck_outcomes, [t for _, _, t in points])
    report["tradeoff"] = [
        {
            "target_precision": p,
            "max_miss_rate": m,
            "current": (p, m) == current,  # the budget the deployed model was trained for
            **t.model_dump(),
            **{name: rows[k] for name, rows in curves.items()},
        }
        for k, (p, m, t) in enumerate(points)
    ]
    if email is not None:
        guard, drafts = email
        progress(f"email guardrail: {len(drafts)} drafts of the seeded templates, and its cut-offs on the validation split")
        report["email_guardrail"] = await asyncio.to_thread(guardrail_report, classifier, guard, drafts, data.labels[validation])
    return report
