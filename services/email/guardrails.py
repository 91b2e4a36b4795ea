"""Stage 4, guardrails: every check says whether the draft may go out, and why not.

* toxicity — the moderation pipeline's own two machine tiers (one mechanism): the policy's
  rules (any `block` match fails, a slur, a threat, a sexual term; so does a mere signal of
  the categories in `EMAIL_REFUSED_SIGNALS`, insults and profanity: the classifier, trained on
  tweets, lets a polite email with one "idiot" in it through) and its fine-tuned classifier on
  Ray Serve (fails when P(hate) + P(offensive) reaches `EMAIL_MAX_TOXICITY`). An email has
  no judge or reviewer to wait for: what is not clearly clean falls back to a template that is;
* brand    — off-brand terms and style rules (shouting, exclamation marks);
* discount — any code, or any "N% off", must be a promotion granted to this user and cart;
* privacy  — no personal data but the recipient's first name (no addresses, phone numbers,
  last name);
* links    — URLs only to allowed domains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from services.common.events import ClassifierScores
from services.email.context import CartContext
from services.email.generation import EmailDraft
from services.moderation.handlers import Classify
from services.moderation.policy import LINK_BLOCKED, LINK_UNKNOWN
from services.moderation.rules import CompiledRules, RuleReport

LINK_CATEGORIES = frozenset({LINK_BLOCKED, LINK_UNKNOWN})  # links are the links check's to judge
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE_RE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
URL_RE = re.compile(r"https?://[^\s\"'<>)]+", re.IGNORECASE)
PERCENT_RE = re.compile(r"(\d{1,3})\s*%")
CODE_RE = re.compile(r"\b(?i:code|coupon|promo)\s*:?\s*([A-Z0-9][A-Z0-9-]{3,})\b")  # codes are upper case


@dataclass(frozen=True)
class CheckResult:
    """One guardrail's verdict."""

    check: str
    passed: bool
    reason: str = ""


def draft_text(draft: EmailDraft) -> str:
    """Everything a reader sees, as one string."""
    return "\n".join([draft.subject, draft.preheader, *draft.body_blocks, draft.call_to_action.text])


def toxicity(scores: ClassifierScores) -> float:
    """How likely the classifier finds a text abusive: P(hate) + P(offensive)."""
    return 1.0 - scores.neither


def check_toxicity(
    report: RuleReport, scores: ClassifierScores, max_toxicity: float, refused_signals: frozenset[str]
) -> CheckResult:
    """Fails on a `block` rule match (links aside), a signal of a refused category, or a
    classifier toxicity of `max_toxicity` or more."""
    categories = sorted(
        {
            m.category
            for m in report.matches
            if m.category not in LINK_CATEGORIES and (m.severity == "block" or m.category in refused_signals)
        }
    )
    problems = [f"policy: {', '.join(categories)}"] if categories else []
    if toxicity(scores) >= max_toxicity:
        problems.append(f"classifier: P(hate or offensive) {toxicity(scores):.2f}, at most {max_toxicity} allowed")
    return CheckResult("toxicity", not problems, "; ".join(problems))


@dataclass(frozen=True)
class ToxicityGuard:
    """The toxicity check with what it needs: the policy's rules for the shop's country and
    the classifier deployment (scored for every draft: rules and model give separate reasons)."""

    rules: CompiledRules
    classify: Classify
    max_toxicity: float
    refused_signals: frozenset[str]

    async def __call__(self, text: str) -> CheckResult:
        scores, _ = await self.classify(text)
        return check_toxicity(self.rules.evaluate(text), scores, self.max_toxicity, self.refused_signals)


def check_brand(text: str, offbrand_terms: list[str]) -> CheckResult:
    """Off-brand words and style: no shouting (words of 4+ capitals), at most one '!'."""
    lowered = text.casefold()
    problems = [f"off-brand term {t!r}" for t in offbrand_terms if re.search(rf"\b{re.escape(t.casefold())}\b", lowered)]
    codes = set(CODE_RE.findall(text))
    shouting = [w for w in re.findall(r"\b[A-Z]{4,}\b", text) if w not in codes]
    if shouting:
        problems.append(f"shouting ({', '.join(shouting[:3])})")
    if text.count("!") > 1:
        problems.append(f"{text.count('!')} exclamation marks")
    return CheckResult("brand", not problems, "; ".join(problems))


def check_discount(draft: EmailDraft, ctx: CartContext) -> CheckResult:
    """Codes and percentages must match a promotion granted to this user and cart."""
    granted = {p.code.upper(): p.percent_off for p in ctx.promotions}
    text = draft_text(draft)
    codes = {c.upper() for c in CODE_RE.findall(text)}
    if draft.discount_code:
        codes.add(draft.discount_code.upper())
    problems = [f"code {c} is not granted to this shopper" for c in sorted(codes) if c not in granted]
    allowed_percents = {granted[c] for c in codes if c in granted} or set(granted.values())
    for percent in {int(p) for p in PERCENT_RE.findall(text)}:
        if percent not in allowed_percents or not granted:
            problems.append(f"{percent}% off is not a granted discount")
    return CheckResult("discount", not problems, "; ".join(problems))


def check_privacy(text: str, ctx: CartContext) -> CheckResult:
    """Only the first name: no e-mail addresses, phone numbers or the last name."""
    problems = []
    if EMAIL_RE.search(text):
        problems.append("contains an e-mail address")
    if PHONE_RE.search(text):
        problems.append("contains a phone number")
    if re.search(rf"\b{re.escape(ctx.shopper.last_name)}\b", text, re.IGNORECASE):
        problems.append("contains the shopper's last name")
    return CheckResult("privacy", not problems, "; ".join(problems))


def check_links(draft: EmailDraft, allowed_domains: list[str]) -> CheckResult:
    """Every URL (the button's too) points to an allowed domain over https."""
    urls = [*URL_RE.findall(draft_text(draft)), draft.call_to_action.url]
    bad = []
    for url in urls:
        parsed = urlparse(url)
        host = (parsed.hostname or "").casefold()
        if parsed.scheme != "https" or not any(host == d or host.endswith("." + d) for d in allowed_domains):
            bad.append(url[:80])
    return CheckResult("links", not bad, f"links outside the allowed domains: {', '.join(bad)}" if bad else "")


async def run_guardrails(
    draft: EmailDraft, ctx: CartContext, offbrand_terms: list[str], allowed_domains: list[str], guard: ToxicityGuard
) -> list[CheckResult]:
    """Every check, in a fixed order."""
    text = draft_text(draft)
    return [
        await guard(text),
        check_brand(text, offbrand_terms),
        check_discount(draft, ctx),
        check_privacy(text, ctx),
        check_links(draft, allowed_domains),
    ]
