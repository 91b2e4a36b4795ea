"""Moderation policy as data: the versioned YAML under `policies/`, validated with pydantic."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

Severity = Literal["block", "signal"]
POLICY_DIR = Path(__file__).parent / "policies"
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


class CountryOverride(_Strict):
    """Extra rules for items from one country."""

    terms: list[TermList] = []
    patterns: list[Pattern] = []


class Policy(_Strict):
    """One version of the moderation policy."""

    version: str = Field(min_length=1)
    terms: list[TermList]
    patterns: list[Pattern] = []
    links: LinkPolicy = LinkPolicy()
    countries: dict[str, CountryOverride]

    def supports(self, country: str) -> bool:
        """Whether `country` (ISO 3166-1 alpha-2) has a policy."""
        return country in self.countries


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
