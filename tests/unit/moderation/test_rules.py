from pathlib import Path

import pytest

from services.moderation.normalise import normalise, views
from services.moderation.policy import DEFAULT_POLICY, default_policy, load_policy
from services.moderation.rules import RuleBook

pytestmark = pytest.mark.unit

BOOK = RuleBook(default_policy())


def rules_of(text: str, country: str = "US", links: list[str] | None = None) -> tuple[str, set[str]]:
    report = BOOK.evaluate(text, country, links or [])
    return report.outcome, {m.rule for m in report.matches}


@pytest.mark.parametrize(
    "evasion",
    [
        "you faggot",
        "you FAGGOT!!",
        "you f a g g o t",  # spaced
        "you f.a.g.g.o.t",  # dotted
        "you f4gg0t",  # leetspeak
        "you f 4 g g 0 t",  # spaced leetspeak
        "you fa\u200bgg\u200dot",  # zero-width characters
        "you fаggоt",  # Cyrillic а and о (homoglyphs)
        "you ｆａｇｇｏｔ",  # fullwidth
        "you fàggöt",  # accents
        "you faaaaggggot",  # stretched
        "you faggots",  # suffix
    ],
)
def test_evasions_of_a_blocked_term_are_rejected_by_tier_1(evasion: str) -> None:
    outcome, matched = rules_of(evasion)
    assert outcome == "reject"
    assert "term:faggot" in matched


def test_spaced_letters_inside_a_sentence_still_match_by_substring() -> None:
    assert "term:hate" in rules_of("I h a t e women")[1]


def test_clean_text_is_approved_and_policy_relevant_text_escalates() -> None:
    assert rules_of("What a lovely day at the beach!") == ("approve", set())
    outcome, matched = rules_of("I hate women.")
    assert outcome == "escalate"
    assert {"term:hate", "term:women"} <= matched


def test_terms_match_at_word_boundaries_only() -> None:
    # "class" holds "ass", "scrap" holds "crap", "therapist" holds "rapist": none may match.
    assert rules_of("The class scrapped the therapist's assessment.") == ("approve", set())


def test_punctuation_after_a_word_is_not_leetspeak() -> None:
    assert normalise("Hello there!") == "hello there"
    assert normalise("sh!t h4te $hit") == "shit hate shit"


def test_threat_patterns_reject() -> None:
    assert rules_of("I want to kill all of them")[0] == "reject"
    assert "pattern:call_for_death" in rules_of("they should all die")[1]


# Threats and ordinary uses of the same verbs, written for these tests as a new user would try
# the service (not from HateCheck, which stays test-only).
@pytest.mark.parametrize(
    ("post", "rule"),
    [
        ("I'm gonna kill you", "threat_first_person"),
        ("i swear i'll stab him tomorrow", "threat_first_person"),
        ("I'd kill them all if I could", "threat_first_person"),
        ("if you touch my car again I'll break your legs", "threat_bodily_harm"),
        ("I'll beat you to death", "threat_bodily_harm"),
        ("say that again and i'm going to punch you", "threat_bodily_harm"),
        ("I know where you live", "intimidation"),
        ("i know where your kids go to school", "intimidation"),
        ("we will find you", "intimidation"),
        ("sleep with one eye open tonight", "intimidation"),
        ("someone should shoot you", "incitement_to_harm"),
        ("people need to kill them", "incitement_to_harm"),
    ],
)
def test_direct_conditional_and_incited_threats_are_rejected_by_tier_1(post: str, rule: str) -> None:
    outcome, matched = rules_of(post)
    assert outcome == "reject" and f"pattern:{rule}" in matched


@pytest.mark.parametrize(
    "post",
    [
        "I'm going to hang out with friends tonight",  # rejected under v1.2026-12-03
        "I'll shoot you an email tomorrow",  # rejected under v1.2026-12-03
        "I will kill it at the gym",  # rejected under v1.2026-12-03
        "I would love to shoot your wedding",  # rejected under v1.2026-12-03
        "I'll hang the picture later",  # rejected under v1.2026-12-03
        "I'm going to kill this exam",
        "I'll shoot you a text",
        "I'd love to shoot you some photos",
        "I'll beat you at chess",
        "I'll break the news to her",
        "I'll find you a seat",
        "we will find you the best deal",
        "someone should shoot that video",
        "we need to kill the process and restart",
    ],
)
def test_ordinary_uses_of_violent_verbs_are_not_rejected_as_threats(post: str) -> None:
    outcome, matched = rules_of(post)
    assert outcome != "reject", matched


# Written for this test, as a new user would try the service (not from HateCheck, which stays
# test-only for `forgeline eval moderation`).
@pytest.mark.parametrize(
    "post",
    [
        "just kill yourself already",
        "go kill urself lol",
        "kys",
        "k y s loser",
        "KYS!!!",
        "you should go hang yourself",
        "do everyone a favour and die",
        "go drink bleach",
        "nobody would miss you, end your life",
        "slit your wrists",
    ],
)
def test_incitement_to_self_harm_is_rejected_by_tier_1(post: str) -> None:
    outcome, matched = rules_of(post)
    assert outcome == "reject" and "pattern:self_harm_incitement" in matched


@pytest.mark.parametrize(
    "post",
    [
        "don't kill yourself over the deadline, it can wait",
        "please do not kill yourself studying tonight",
        "you're going to kill yourself if you don't rest",
        "the keys are on the table",
        "this workout is killing me",
        "I could die for a coffee right now",
        "they killed it at the show last night",
    ],
)
def test_kind_or_ordinary_uses_of_the_same_words_are_not_incitement(post: str) -> None:
    outcome, matched = rules_of(post)
    assert outcome != "reject" and "pattern:self_harm_incitement" not in matched


def test_a_blocking_rule_matched_only_inside_quotes_escalates_instead_of_rejecting() -> None:
    outcome, matched = rules_of('He got banned for writing "kill all of them" in the chat.')
    assert outcome == "escalate" and "quoted:pattern:kill_all" in matched  # reported, not said
    assert rules_of("\u201cyou faggot\u201d is not something you say")[1] == {"quoted:term:faggot"}
    assert rules_of('"kys"')[0] == "escalate"  # a bare quote still goes on to tier 2, never approved
    assert rules_of('you faggot, "I said hello"')[0] == "reject"  # said outside the quotes too
    assert rules_of("kill all of them")[0] == "reject"


def test_links_by_reputation() -> None:
    assert rules_of("see this", links=["https://phishing.example/login"])[0] == "reject"
    assert rules_of("see https://sub.malware.example/x")[0] == "reject"
    assert rules_of("read this", links=["https://en.wikipedia.org/wiki/Dyke_(embankment)"]) == ("approve", set())
    outcome, matched = rules_of("read this", links=["https://unknown-site.example/a"])
    assert (outcome, matched) == ("escalate", {"link:unknown-site.example"})


def test_country_overrides_apply_only_to_their_country() -> None:
    assert rules_of("sieg heil", country="DE")[0] == "reject"
    assert rules_of("sieg heil", country="US")[0] == "approve"


def test_unknown_country_is_an_error_that_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no moderation policy.*DE"):
        BOOK.evaluate("hello", "XX")


def test_the_report_names_the_policy_version() -> None:
    report = BOOK.evaluate("hello", "US")
    assert report.policy_version == default_policy().version
    assert report.country == "US"


def test_views_join_spaced_letters_and_squeeze_only_stretched_text() -> None:
    v = views("I h a t e it")
    assert v.words == " ihate it "
    assert v.spaced == ("ihate",)
    assert v.squeezed is None
    assert views("sooo good").squeezed == " so god "


def test_an_invalid_policy_file_names_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\nterms: [{category: c, severity: maybe, terms: [a]}]\ncountries: {}\n")
    with pytest.raises(ValueError, match=r"(?s)bad\.yaml.*severity"):
        load_policy(bad)


@pytest.mark.parametrize(
    ("text", "country", "outcome", "category", "actions"),
    [
        ("new photos up on my onlyfans tonight", "US", "approve", None, ["label"]),  # label: approved
        ("new photos up on my onlyfans tonight", "DE", "review", "sexual", ["review"]),  # DE overrides it
        ("this traffic is shit", "US", "escalate", None, ["label"]),  # a signal still goes to tier 2
        ("sieg heil", "DE", "reject", "unlawful_symbol", ["reject"]),
        ("I will kill you", "US", "reject", "threat", ["review", "reject"]),  # the block match decides
    ],
)
def test_each_category_acts_as_the_policy_says_for_the_country(
    text: str, country: str, outcome: str, category: str | None, actions: list[str]
) -> None:
    report = BOOK.evaluate(text, country)
    assert (report.outcome, report.category) == (outcome, category)
    assert [m.action for m in report.matches] == actions


def test_a_rejection_outranks_a_review_and_allow_drops_matches() -> None:
    policy = default_policy().model_copy(
        update={"countries": {"US": default_policy().countries["US"].model_copy(update={"actions": {"slur": "allow"}})}}
    )
    report = RuleBook(policy).evaluate("you faggot, check my onlyfans", "US")
    assert (report.outcome, [m.rule for m in report.matches]) == ("approve", ["term:onlyfans"])
    report = BOOK.evaluate("you faggot, check my onlyfans", "DE")
    assert (report.outcome, report.category) == ("reject", "slur")


def test_a_category_a_rule_uses_must_be_declared(tmp_path: Path) -> None:
    text = DEFAULT_POLICY.read_text()
    broken = tmp_path / "policy.yaml"
    broken.write_text(text.replace("  unknown_link: {action: review", "  unknown_links: {action: review"))
    with pytest.raises(ValueError, match="not declared under `categories`: unknown_link"):
        load_policy(broken)
