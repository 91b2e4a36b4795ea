import asyncio
import json
import uuid

import httpx
import numpy as np
import pytest

from services.common.events import ClassifierScores, ContentSubmitted, JudgeVerdict, RuleMatch
from services.moderation.classifier import Thresholds, choose_thresholds, split_indices
from services.moderation.evaluate import Case, Outcome, metrics, tradeoff
from services.moderation.handlers import (
    ServeClassifier,
    escalate,
    judge_categories,
    judge_request,
    needs_human,
    template_verdict,
)
from services.moderation.policy import default_policy

pytestmark = pytest.mark.unit

ITEM = ContentSubmitted(tenant_id=uuid.uuid4(), text="I hate women", author_id="a", country="US")
MATCH = RuleMatch(rule="term:hate", category="hostility", severity="signal")


def verdict(confidence: float, severity: str = "none") -> JudgeVerdict:
    return JudgeVerdict(decision="approve", policy_clause="none", rationale="r", confidence=confidence, severity=severity)


def test_escalation_carries_the_evidence_under_a_new_event_id() -> None:
    task = escalate(ITEM, "v1", [MATCH], ClassifierScores(hate=0.4, offensive=0.3, neither=0.3))
    assert task.content_id == ITEM.content_id and task.event_id != ITEM.event_id
    assert task.rule_matches == [MATCH] and task.scores is not None and task.key() == ITEM.key()


CATEGORIES = judge_categories(default_policy(), "US")


def test_humans_decide_when_the_judge_is_unsure_severe_or_silent() -> None:
    assert needs_human(verdict(0.9), "", 0.6, CATEGORIES) is None
    assert "unsure" in (needs_human(verdict(0.5), "", 0.6, CATEGORIES) or "")
    assert "high severity" in (needs_human(verdict(0.9, "high"), "", 0.6, CATEGORIES) or "")
    assert "no valid verdict" in (needs_human(None, "invalid answer", 0.6, CATEGORIES) or "")


@pytest.mark.parametrize(
    ("decision", "clause"), [("reject", "none"), ("reject", "furthermore,"), ("reject", "profanity"), ("approve", "threat")]
)
def test_a_verdict_the_policy_does_not_allow_goes_to_a_human(decision: str, clause: str) -> None:
    odd = JudgeVerdict.model_validate(
        {"decision": decision, "policy_clause": clause, "rationale": "r", "confidence": 0.9, "severity": "low"}
    )
    assert "not what the policy allows" in (needs_human(odd, "", 0.6, CATEGORIES) or "")


def test_the_judge_may_cite_only_the_policys_rejecting_categories() -> None:
    assert {"hate", "slur", "threat", "self_harm", "blocked_link"} <= set(CATEGORIES)
    assert not {"sexual", "profanity", "insult", "identity"} & set(CATEGORIES)  # label and review: no rejection
    task = escalate(ITEM, "v1", [MATCH], ClassifierScores(hate=0.4, offensive=0.3, neither=0.3))
    request = judge_request(task, CATEGORIES)
    assert request.schema is not None
    assert request.schema["properties"]["policy_clause"]["enum"] == [*CATEGORIES, "none"]
    assert json.loads(request.prompt.split("\n")[1])["policy_categories"] == CATEGORIES


def test_the_template_judge_never_decides_on_its_own() -> None:
    task = escalate(ITEM, "v1", [MATCH], ClassifierScores(hate=0.6, offensive=0.3, neither=0.1))
    suggestion = template_verdict(task)
    assert suggestion.decision == "reject" and suggestion.policy_clause == "hate" and suggestion.confidence == 0.0
    assert needs_human(suggestion, "", 0.01, CATEGORIES) is not None


def test_thresholds_bound_precision_and_misses_on_validation_scores() -> None:
    p = np.array([0.01, 0.02, 0.05, 0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    hate = np.array([False, False, False, True, False, False, True, True, True, True, True])
    t = choose_thresholds(p, hate, target_precision=0.9, max_miss_rate=0.0)
    assert t.approve_below == 0.1  # every hateful item scores at least 0.1
    assert t.reject_at == 0.6  # from 0.6 up 5 of 5 are hateful; from 0.5 up only 5 of 6
    assert t.outcome(ClassifierScores(hate=0.05, offensive=0.5, neither=0.45)) == "approve"
    assert t.outcome(ClassifierScores(hate=0.3, offensive=0.5, neither=0.2)) == "uncertain"
    assert t.outcome(ClassifierScores(hate=0.7, offensive=0.2, neither=0.1)) == "reject"
    assert (
        Thresholds(reject_at=1.01, approve_below=0.0).outcome(ClassifierScores(hate=1.0, offensive=0, neither=0)) == "uncertain"
    )


def test_splits_are_stratified_disjoint_and_stable() -> None:
    labels = np.array([0] * 50 + [1] * 300 + [2] * 150)
    train, validation, test = split_indices(labels)
    assert not set(train) & set(test) and not set(validation) & set(test)
    assert len(train) + len(validation) + len(test) == len(labels)
    assert (labels[test] == 0).sum() == 10  # 20 % of each class
    assert np.array_equal(test, split_indices(labels)[2])


def test_metrics_count_humans_apart_and_report_clean_false_positives() -> None:
    cases = [
        Case("a", True, False, "g1"),
        Case("b", False, True, "g1"),
        Case("c", False, True, "g2"),
        Case("d", True, False, "g2"),
    ]
    outcomes = [Outcome("rules", "reject"), Outcome("classifier", "reject"), Outcome("judge", "approve"), Outcome("human", None)]
    report = metrics(cases, outcomes)
    assert report["automatic"]["n"] == 3 and report["automatic"]["fpr_clean"] == 0.5
    assert report["with_human_review"]["recall"] == 1.0  # the human is assumed right
    assert report["tier_mix"] == {"rules": 0.25, "classifier": 0.25, "judge": 0.25, "human": 0.25}
    assert report["per_tier"]["classifier"]["clean_rejected"] == 1


def scores(hate: float) -> ClassifierScores:
    return ClassifierScores(hate=hate, offensive=(1 - hate) / 2, neither=(1 - hate) / 2)


def test_the_tradeoff_moves_only_what_tier_1_escalated_between_the_band_and_the_decisions() -> None:
    cases = [
        Case("slur", True, False, "g"),
        Case("clean", False, True, "g"),
        Case("vague hate", True, False, "g"),
        Case("vague clean", False, True, "g"),
    ]
    outcomes = [
        Outcome("rules", "reject"),
        Outcome("rules", "approve"),
        Outcome("human", None, scores(0.4)),
        Outcome("classifier", "approve", scores(0.3)),
    ]
    narrow, wide = Thresholds(reject_at=0.35, approve_below=0.35), Thresholds(reject_at=0.9, approve_below=0.1)
    at_narrow, at_wide = tradeoff(cases, outcomes, [narrow, wide])
    # Narrow: nothing in the band; "vague clean" (0.3) approved, "vague hate" (0.4) rejected.
    assert at_narrow == {"band_share": 0.0, "fpr_clean": 0.0, "fnr": 0.0}
    # Wide: both vague items in the band; tier 1's two decisions alone remain.
    assert at_wide == {"band_share": 0.5, "fpr_clean": 0.0, "fnr": 0.0}
    at_low = tradeoff(cases, outcomes, [Thresholds(reject_at=0.2, approve_below=0.2)])[0]
    assert at_low == {"band_share": 0.0, "fpr_clean": 0.5, "fnr": 0.0}  # "vague clean" removed
    at_high = tradeoff(cases, outcomes, [Thresholds(reject_at=0.95, approve_below=0.5)])[0]
    assert at_high == {"band_share": 0.0, "fpr_clean": 0.0, "fnr": 0.5}  # "vague hate" approved


async def test_the_classifier_client_waits_while_the_deployment_is_down() -> None:
    answers = iter([httpx.Response(503), httpx.Response(404), httpx.ConnectError("refused")])

    def respond(request: httpx.Request) -> httpx.Response:
        answer = next(answers, None)
        if answer is None:
            return httpx.Response(
                200, json={"results": [{"scores": {"hate": 0.9, "offensive": 0.05, "neither": 0.05}, "outcome": "reject"}]}
            )
        if isinstance(answer, Exception):
            raise answer
        return answer

    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        scores, outcome = await ServeClassifier(http, "http://serve/moderation/classify", wait)("text")
    assert outcome == "reject" and scores.hate == 0.9
    assert waits == [0.2, 0.4, 0.8]  # backoff while unavailable, never a default decision


async def test_concurrent_calls_share_one_classify_request() -> None:
    bodies: list[list[str]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["texts"]
        bodies.append(texts)
        scores = [
            {"scores": {"hate": len(t) / 100, "offensive": 0.0, "neither": 1 - len(t) / 100}, "outcome": "approve"} for t in texts
        ]
        return httpx.Response(200, json={"results": scores})

    async def wait(seconds: float) -> None:
        raise AssertionError("no wait expected")

    async with httpx.AsyncClient(transport=httpx.MockTransport(respond)) as http:
        classify = ServeClassifier(http, "http://serve/moderation/classify", wait, max_texts=4)
        results = await asyncio.gather(*(classify("x" * n) for n in range(1, 7)))
    assert [len(b) for b in bodies] == [4, 2]  # full at 4, the rest after the linger
    assert [round(scores.hate * 100) for scores, _ in results] == [1, 2, 3, 4, 5, 6]  # each caller its own


def test_the_head_is_set_back_to_the_class_shares_the_model_will_meet() -> None:
    from services.moderation.classifier import Head, prior_shift

    sampled = np.array([0] * 100 + [1] * 100 + [2] * 100)  # an epoch over-samples hate
    actual = np.array([0] * 6 + [1] * 77 + [2] * 17)
    head = Head(np.zeros((3, 384)), prior_shift(sampled, actual))
    assert np.allclose(head.proba(np.ones((1, 384))), [[0.06, 0.77, 0.17]])
