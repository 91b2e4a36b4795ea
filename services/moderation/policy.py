"""Moderation policy as data: the versioned YAML under `policies/`, validated with pydantic."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.events import PolicyAction

Severity = Literal["block", "signal"]
POLICY_DIR = Path(__file__).parent / "policies"
LINK_BLOCKED = "blocked_link"  # the categories of link matches (a blocked domain, any untrusted one)
LINK_UNKNOWN = "unknown_link"
DEFAULT_POLICY = POLICY_DIR / "v1.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermList(_Strict):
    """Terms of one category and severity."""

    category: str = Field(min_length=1)
    severity: Severity
    terms: list[str] = Field(min_length=1)

    @field_validator("terms")
    @classmethod
    def _not_blank(cls, terms: list[str]) -> list[str]:
        if any(not t.strip() for t in terms):
            raise ValueError("blank term")
        return terms


class Pattern(_Strict):
    """A regular expression over the normalised text."""

    name: str = Field(min_length=1)
    category: str = Field(min_length=1)
    severity: Severity
    regex: str = Field(min_length=1)


class LinkPolicy(_Strict):
    """Domain reputation: blocked domains reject, anything not trusted is a signal."""

    blocked_domains: list[str] = []
    trusted_domains: list[str] = []


class Category(_Strict):
    """A category the platform acts on, and how."""

    action: PolicyAction
    description: str = Field(min_length=1)


class CountryOverride(_Strict):
    """Extra rules for items from one country, and categories it treats otherwise."""

    terms: list[TermList] = []
    patterns: list[Pattern] = []
    actions: dict[str, PolicyAction] = {}


class Policy(_Strict):
    """One version of the moderation policy."""

    version: str = Field(min_length=1)
    categories: dict[str, Category]
    terms: list[TermList]
    patterns: list[Pattern] = []
    links: LinkPolicy = LinkPolicy()
    countries: dict[str, CountryOverride]

    @model_validator(mode="after")
    def _categories_declared(self) -> Policy:
        used = {LINK_BLOCKED, LINK_UNKNOWN} | {t.category for t in self.terms} | {p.category for p in self.patterns}
        for override in self.countries.values():
            used |= {t.category for t in override.terms} | {p.category for p in override.patterns} | set(override.actions)
        missing = sorted(used - set(self.categories))
        if missing:
            raise ValueError(f"categories used but not declared under `categories`: {', '.join(missing)}")
        return self

    def supports(self, country: str) -> bool:
        """Whether `country` (ISO 3166-1 alpha-2) has a policy."""
        return country in self.countries

    def action(self, category: str, country: str) -> PolicyAction:
        """What the policy does about `category` for items from `country`."""
        override = self.countries.get(country)
        if override is not None and category in override.actions:
            return override.actions[category]
        return self.categories[category].action


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file (a clear error names the file and the field)."""
    try:
        data = yaml.safe_load(path.read_text())
        return Policy.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as error:
        raise ValueError(f"moderation policy {path} is invalid: {error}") from error


@lru_cache(maxsize=4)
def default_policy() -> Policy:
    """The policy shipped with the code (`policies/v1.yaml`)."""
    return load_policy(DEFAULT_POLICY)


def configured_policy(path: Path | None) -> Policy:
    """The policy at `MODERATION_POLICY_PATH`, else the shipped one."""
    return load_policy(path) if path else default_policy()
