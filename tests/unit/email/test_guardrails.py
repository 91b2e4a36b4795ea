from decimal import Decimal

import pytest

from services.common.events import ClassifierScores
from services.email.context import CartContext, ItemLine, Promotion, Shopper
from services.email.generation import CallToAction, EmailDraft
from services.email.guardrails import (
    ToxicityGuard,
    check_brand,
    check_discount,
    check_links,
    check_privacy,
    check_toxicity,
    run_guardrails,
)
from services.moderation.handlers import ClassifierResult
from services.moderation.policy import default_policy
from services.moderation.rules import RuleBook

pytestmark = pytest.mark.unit

OFFBRAND = ["cheap", "act now"]
DOMAINS = ["shop.forgeline.example"]
URL = "https://shop.forgeline.example/cart"
RULES = RuleBook(default_policy()).for_country("US")
CLEAN = ClassifierScores(hate=0.001, offensive=0.02, neither=0.979)
REFUSED = frozenset({"slur", "insult", "profanity"})


def guard(scores: ClassifierScores = CLEAN, seen: list[str] | None = None) -> ToxicityGuard:
    """The guard with a stand-in for the classifier deployment, recording what it was asked."""

    async def classify(text: str) -> ClassifierResult:
        if seen is not None:
            seen.append(text)
        return scores, "approve"

    return ToxicityGuard(RULES, classify, max_toxicity=0.5, refused_signals=REFUSED)


def ctx(promotions: list[Promotion] | None = None) -> CartContext:
    return CartContext(
        tenant_id="t",
        cart_id="c1",
        currency="USD",
        shopper=Shopper(user_id="u1", email="ada.okafor@example.com", first_name="Ada", last_name="Okafor", cohort="loyal"),
        items=[
            ItemLine(sku="S1", name="classic daypack", category="bags", quantity=1, unit_price=Decimal("40.00"), in_stock=True)
        ],
        total=Decimal("40.00"),
        past_purchases=3,
        favourite_category="bags",
        promotions=promotions if promotions is not None else [Promotion(code="THANKYOU15", percent_off=15)],
    )


def draft(body: str, code: str | None = None, url: str = URL, subject: str = "Ada, your cart is waiting") -> EmailDraft:
    return EmailDraft(
        subject=subject,
        preheader="Saved for you",
        body_blocks=[body],
        call_to_action=CallToAction(text="Go", url=url),
        discount_code=code,
    )


async def test_a_clean_draft_passes_every_check_and_the_classifier_reads_all_of_it() -> None:
    seen: list[str] = []
    results = await run_guardrails(
        draft("Your daypack is waiting. Use code THANKYOU15 for 15% off.", "THANKYOU15"),
        ctx(),
        OFFBRAND,
        DOMAINS,
        guard(seen=seen),
    )
    assert [r.check for r in results if not r.passed] == []
    assert seen == ["Ada, your cart is waiting\nSaved for you\nYour daypack is waiting. Use code THANKYOU15 for 15% off.\nGo"]


@pytest.mark.parametrize(
    ("text", "scores", "needles"),
    [
        ("Finish your order or I will kill you", CLEAN, ["policy: threat"]),
        ("Our new nudes collection", CLEAN, ["policy: sexual"]),  # labelled in moderation, never in the shop's mail
        ("Don't be an idiot, buy it", CLEAN, ["policy: insult"]),  # a signal, refused in the shop's mail
        ("Your cart misses you", ClassifierScores(hate=0.1, offensive=0.5, neither=0.4), ["P(hate or offensive) 0.60"]),
        ("kill all of them", ClassifierScores(hate=0.7, offensive=0.2, neither=0.1), ["policy: threat", "classifier"]),
    ],
)
def test_toxicity_fails_on_a_blocking_rule_or_the_classifier(text: str, scores: ClassifierScores, needles: list[str]) -> None:
    result = check_toxicity(RULES.evaluate(text), scores, 0.5, REFUSED)
    assert not result.passed
    assert all(n in result.reason for n in needles), result.reason


def test_toxicity_passes_signals_the_classifier_clears_and_leaves_links_to_the_links_check() -> None:
    # "kill" is a hostility signal (not refused) and the URL an unknown link: the classifier decides.
    text = "These boots kill it on the trail: https://elsewhere.example/boots"
    assert check_toxicity(RULES.evaluate(text), CLEAN, 0.5, REFUSED).passed
    at_the_limit = ClassifierScores(hate=0.2, offensive=0.3, neither=0.5)
    assert not check_toxicity(RULES.evaluate("Your cart"), at_the_limit, 0.5, REFUSED).passed


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        ("Half price with code SUMMER50.", None, "SUMMER50 is not granted"),
        ("Take 50% off today.", None, "50% off is not a granted discount"),
        ("Your cart is waiting.", "FAKE20", "FAKE20 is not granted"),
        ("Use code THANKYOU15 for 40% off.", "THANKYOU15", "40% off"),
    ],
)
def test_discounts_not_granted_fail_with_the_reason(body: str, code: str | None, needle: str) -> None:
    result = check_discount(draft(body, code), ctx())
    assert not result.passed and needle in result.reason


def test_any_percentage_fails_when_nothing_is_granted() -> None:
    assert not check_discount(draft("Save 10% now."), ctx(promotions=[])).passed
    assert check_discount(draft("Your cart is waiting."), ctx(promotions=[])).passed


def test_offbrand_and_shouting_are_caught() -> None:
    brand = check_brand("This is CHEAP!! act now", OFFBRAND)
    assert not brand.passed
    assert "cheap" in brand.reason and "act now" in brand.reason and "exclamation" in brand.reason
    assert "shouting" in check_brand("HUGE SALE on bags", OFFBRAND).reason
    assert check_brand("Use code THANKYOU15 today.", OFFBRAND).passed  # codes are not shouting


def test_privacy_allows_only_the_first_name() -> None:
    assert check_privacy("Hi Ada, your cart is waiting", ctx()).passed
    assert "last name" in check_privacy("Hi Ada Okafor", ctx()).reason
    assert "e-mail" in check_privacy("We wrote to ada.okafor@example.com", ctx()).reason
    assert "phone" in check_privacy("Call +1 (555) 010-2299", ctx()).reason


def test_links_only_to_allowed_domains_over_https() -> None:
    assert check_links(draft("See https://shop.forgeline.example/new"), DOMAINS).passed
    assert not check_links(draft("See https://evil.example/x"), DOMAINS).passed
    assert not check_links(draft("ok", url="http://shop.forgeline.example/cart"), DOMAINS).passed
    assert not check_links(draft("ok", url="https://shop.forgeline.example.evil.io/"), DOMAINS).passed
