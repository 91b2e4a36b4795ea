"""Tier 1: the policy compiled into single-pass matchers, and the rules' verdict on an item.

Terms are matched with Aho–Corasick automatons (one pass over the text, whatever the number
of terms) on the normalised views of `normalise.py`; patterns are compiled regexes over the
same text. Each match carries its category's action under the policy for the item's country
(`Policy.action`): a `block` match of a `reject` category rejects, of a `review` category sends
the item to a person; matches of an `allow` category are dropped; any `signal` left escalates
to the classifier with the matches as evidence; and the rest is approved, labelled with the
categories whose action is `label`.

Quoting abuse is not abuse: a `block` rule that matches only inside quotation marks (someone
reporting or condemning what was said) is downgraded to a signal, `quoted:<rule>`, so the
item goes to the classifier and on to the judge or a human instead of being removed by tier 1.
It never approves: a quoted slur still escalates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import ahocorasick
from pydantic import BaseModel, ConfigDict

from services.common.events import RuleMatch, Severity
from services.moderation.normalise import normalise, squeeze, urls_in, views
from services.moderation.policy import LINK_BLOCKED, LINK_UNKNOWN, Pattern, Policy, TermList

# Word endings a term still matches with (`faggots`, `hated`, `hating` is not covered).
SUFFIXES = frozenset({"s", "es", "z", "ed", "ing", "er", "ers", "y", "ish"})
MIN_SUBSTRING_TERM = 3  # shorter terms inside joined spaced-out letters match too much
# Double quotation marks of the common scripts (single quotes are apostrophes too often).
QUOTED = re.compile(
    r'"[^"]{1,500}"|\u201c[^\u201d]{1,500}\u201d|\u00ab[^\u00bb]{1,500}\u00bb|\u201e[^\u201c\u201d]{1,500}[\u201c\u201d]'
)


Outcome = Literal["reject", "review", "approve", "escalate"]
DECISIVE: tuple[Literal["reject", "review"], ...] = ("reject", "review")


class RuleReport(BaseModel):
    """Tier 1's verdict on one item."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    matches: list[RuleMatch]
    policy_version: str
    country: str
    category: str | None = None  # the category a rejection or a review rests on


@dataclass(frozen=True)
class _Term:
    term: str
    category: str
    severity: Severity


class CompiledRules:
    """The policy for one country, compiled once and reused for every item."""

    def __init__(self, policy: Policy, country: str) -> None:
        override = policy.countries.get(country)
        term_lists: list[TermList] = [*policy.terms, *(override.terms if override else [])]
        patterns: list[Pattern] = [*policy.patterns, *(override.patterns if override else [])]
        self.version = policy.version
        self.country = country
        self._terms: list[_Term] = []
        self._words = ahocorasick.Automaton()
        self._squeezed = ahocorasick.Automaton()
        self._substrings = ahocorasick.Automaton()
        for term_list in term_lists:
            for raw in term_list.terms:
                term = normalise(raw)
                if not term:
                    continue
                index = len(self._terms)
                self._terms.append(_Term(term, term_list.category, term_list.severity))
                _add(self._words, f" {term}", index)
                _add(self._squeezed, f" {squeeze(term)}", index)
                if len(term) >= MIN_SUBSTRING_TERM and " " not in term:
                    _add(self._substrings, term, index)
        for automaton in (self._words, self._squeezed, self._substrings):
            if len(automaton):
                automaton.make_automaton()
        self._actions = {category: policy.action(category, country) for category in policy.categories}
        # Matches are frozen: each rule's is built once, its action stamped, and shared by every item.
        self._term_matches = [self._match(f"term:{t.term}", t.category, t.severity) for t in self._terms]
        self._patterns = [(self._match(f"pattern:{p.name}", p.category, p.severity), re.compile(p.regex)) for p in patterns]
        self._blocked = frozenset(d.casefold() for d in policy.links.blocked_domains)
        self._trusted = frozenset(d.casefold() for d in policy.links.trusted_domains)

    def evaluate(self, text: str, links: Sequence[str] = ()) -> RuleReport:
        """Tier 1's verdict on one item."""
        matches = self._text_matches(text)
        if any(m.severity == "block" for m in matches) and QUOTED.search(text):
            outside = {m.rule for m in self._text_matches(QUOTED.sub(" ", text))}
            matches = [
                m if m.severity != "block" or m.rule in outside else self._match(f"quoted:{m.rule}", m.category, "signal")
                for m in matches
            ]
        for link in (*links, *urls_in(text)):
            match = self.judge_link(link)
            if match is not None:
                matches.append(match)
        matches = [m for m in matches if m.action != "allow"]
        outcome: Outcome = "escalate" if any(m.severity == "signal" for m in matches) else "approve"
        category = None
        for action in DECISIVE:  # a rejection outranks a review
            deciding = next((m for m in matches if m.severity == "block" and m.action == action), None)
            if deciding is not None:
                outcome, category = action, deciding.category
                break
        return RuleReport(outcome=outcome, matches=matches, policy_version=self.version, country=self.country, category=category)

    def _text_matches(self, text: str) -> list[RuleMatch]:
        """The terms and patterns that match the text (links apart)."""
        v = views(text)
        hits: set[int] = set()
        _word_hits(self._words, v.words, hits)
        if v.squeezed is not None:
            _word_hits(self._squeezed, v.squeezed, hits)
        if v.spaced and len(self._substrings):
            for run in v.spaced:
                hits.update(index for _, index in self._substrings.iter(run))
        matches = [self._term_matches[index] for index in sorted(hits)]
        matches.extend(match for match, regex in self._patterns if regex.search(v.words))
        return matches

    def _match(self, rule: str, category: str, severity: Severity) -> RuleMatch:
        """A match of `rule`, with its category's action in this country."""
        return RuleMatch(rule=rule, category=category, severity=severity, action=self._actions[category])

    def judge_link(self, link: str) -> RuleMatch | None:
        """A blocked domain rejects, an unknown one is a signal, a trusted one is nothing."""
        host = (urlsplit(link if "://" in link else f"http://{link}").hostname or "").casefold()
        if _within(host, self._trusted):
            return None
        if _within(host, self._blocked):
            return self._match(f"link:{host}", LINK_BLOCKED, "block")
        return self._match(f"link:{host or link[:60]}", LINK_UNKNOWN, "signal")


def _add(automaton: ahocorasick.Automaton, key: str, index: int) -> None:
    if key not in automaton:  # the first list naming a term decides its category
        automaton.add_word(key, index)


def _word_hits(automaton: ahocorasick.Automaton, text: str, hits: set[int]) -> None:
    """Matches that start a word and end one (allowing a common suffix)."""
    if not len(automaton):
        return
    for end, index in automaton.iter(text):
        after = end + 1
        if text[after] == " ":
            hits.add(index)
            continue
        stop = text.find(" ", after)
        if text[after:stop] in SUFFIXES:
            hits.add(index)


def _within(host: str, domains: frozenset[str]) -> bool:
    """`host` is one of `domains` or a subdomain of one."""
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


class RuleBook:
    """Compiled rules per country for one policy (compiled on first use)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._compiled: dict[str, CompiledRules] = {}

    def for_country(self, country: str) -> CompiledRules:
        """The rules for `country`; ValueError for a country the policy does not cover."""
        rules = self._compiled.get(country)
        if rules is None:
            if not self.policy.supports(country):
                known = ", ".join(sorted(self.policy.countries))
                raise ValueError(f"country {country!r} has no moderation policy; known: {known}")
            rules = self._compiled[country] = CompiledRules(self.policy, country)
        return rules

    def evaluate(self, text: str, country: str, links: Sequence[str] = ()) -> RuleReport:
        """Tier 1's verdict for an item from `country`."""
        return self.for_country(country).evaluate(text, links)
