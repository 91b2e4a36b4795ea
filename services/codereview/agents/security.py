"""Security agent: bandit, secrets (known token formats and high-entropy strings, in every
file), injection patterns in templates and scripts, and risky dependency changes."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePosixPath

from services.codereview.agents.tools import bandit
from services.codereview.changes import ChangedFile
from services.common.events import Finding, FindingSeverity

# bandit tests that are injections or code execution: always critical.
INJECTION = frozenset({"B102", "B301", "B302", "B307", "B506", "B602", "B604", "B605", "B608", "B609", "B701", "B702", "B703"})
SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("aws-secret-access-key", re.compile(r"(?i)aws.{0,20}secret.{0,20}['\"][0-9a-zA-Z/+]{40}['\"]")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b")),
    ("slack-token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("stripe-live-key", re.compile(r"\b[sr]k_live_[0-9a-zA-Z]{24,}\b")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("private-key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY")),
)
_QUOTED = re.compile(r"""(?P<name>[\w.-]*)\s*[:=]?\s*['"](?P<value>[A-Za-z0-9+/=_-]{20,})['"]""")
_SECRET_NAME = re.compile(r"(?i)(secret|token|passw|api_?key|access_?key|private|credential|auth)")
TEMPLATE_SUFFIXES = frozenset({".html", ".htm", ".jinja", ".jinja2", ".j2", ".djhtml"})
SCRIPT_SUFFIXES = frozenset({".js", ".jsx", ".ts", ".tsx", ".vue", ".svelte"})
TEMPLATE_XSS = re.compile(r"\|\s*safe\b|\{%-?\s*autoescape\s+(false|off)|\{\{\{")
SCRIPT_XSS = re.compile(r"\.innerHTML\s*=|\.outerHTML\s*=|dangerouslySetInnerHTML|document\.write\(|\beval\(")
_REQ_LINE = re.compile(r"^\s*([A-Za-z0-9_.\[\]-]+)\s*(.*)$")


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


async def review_security(files: Sequence[ChangedFile]) -> list[Finding]:
    """Findings of bandit, the secret scanner, XSS patterns and the dependency check."""
    tests = {f.path for f in files if f.is_test}
    # `assert` is how tests check things; elsewhere it vanishes under `python -O` (B101).
    findings = [_from_bandit(r) for r in await bandit(files) if not (r["test_id"] == "B101" and r["path"] in tests)]
    for f in files:
        findings += secrets_in(f) + xss_in(f) + dependency_risks(f)
    return findings


def _from_bandit(r: dict[str, object]) -> Finding:
    test_id = str(r["test_id"])
    level = {"HIGH": "critical", "MEDIUM": "warning"}.get(str(r["issue_severity"]), "suggestion")
    severity: FindingSeverity = "critical" if test_id in INJECTION else level  # type: ignore[assignment]
    if r.get("issue_confidence") == "LOW" and severity == "critical":
        severity = "warning"
    cwe = r.get("issue_cwe") or {}
    link = f" (CWE-{cwe['id']})" if isinstance(cwe, dict) and cwe.get("id") else ""
    return Finding(agent="security", path=str(r["path"]), line=int(str(r["line_number"])), severity=severity,
                   rule=f"bandit:{test_id}", message=f"{r['issue_text']}{link}")  # fmt: skip


def secrets_in(f: ChangedFile) -> list[Finding]:
    """Known token formats (critical) and high-entropy strings named like secrets (warning)."""
    found: list[Finding] = []
    for line, text in f.added_text():
        known = next((name for name, pattern in SECRETS if pattern.search(text)), None)
        if known:
            found.append(Finding(
                agent="security", path=f.path, line=line, severity="critical", rule=f"secrets:{known}",
                message=f"A credential ({known}) is committed in plain text.",
                suggestion="Revoke it now, then read it from the environment or a secret manager.",
            ))  # fmt: skip
            continue
        for match in _QUOTED.finditer(text):
            value, named = match.group("value"), bool(_SECRET_NAME.search(match.group("name") or text[: match.start()]))
            if (named and entropy(value) > 3.5) or (len(value) >= 32 and entropy(value) > 4.5):
                found.append(Finding(
                    agent="security", path=f.path, line=line, severity="warning", rule="secrets:high-entropy-string",
                    message="A high-entropy string that looks like a secret.",
                    suggestion="If it is a credential, revoke it and load it from the environment.",
                ))  # fmt: skip
                break
    return found


def xss_in(f: ChangedFile) -> list[Finding]:
    """Unescaped output in templates and scripts."""
    suffix = PurePosixPath(f.path).suffix.lower()
    pattern = TEMPLATE_XSS if suffix in TEMPLATE_SUFFIXES else SCRIPT_XSS if suffix in SCRIPT_SUFFIXES else None
    if pattern is None:
        return []
    return [
        Finding(agent="security", path=f.path, line=line, severity="warning", rule="security:xss",
                message="Output is written without escaping (cross-site scripting risk).",
                suggestion="Escape it, or sanitise it with a vetted library before marking it safe.")
        for line, text in f.added_text()
        if pattern.search(text)
    ]  # fmt: skip


def dependency_risks(f: ChangedFile) -> list[Finding]:
    """Dependencies from URLs or extra indexes (warning) and unpinned requirements (suggestion)."""
    name = PurePosixPath(f.path).name
    if not (name.startswith("requirements") and name.endswith((".txt", ".in"))) and name not in (
        "pyproject.toml", "setup.py", "setup.cfg", "package.json"
    ):  # fmt: skip
        return []
    found: list[Finding] = []
    for line, text in f.added_text():
        stripped = text.split("#", 1)[0].strip()
        if not stripped:
            continue
        if re.search(r"(--extra-index-url|--index-url|git\+|https?://)", stripped):
            found.append(Finding(
                agent="security", path=f.path, line=line, severity="warning", rule="deps:untrusted-source",
                message="A dependency from a URL, VCS or extra package index bypasses the usual supply-chain checks.",
                suggestion="Publish it to your package index and pin a version with a hash.",
            ))  # fmt: skip
        elif name == "package.json" and re.search(r""":\s*"(\*|latest|x)"\s*,?$""", stripped):
            found.append(Finding(agent="security", path=f.path, line=line, severity="warning", rule="deps:unpinned",
                                 message="A dependency on any version: the next release installs unreviewed."))  # fmt: skip
        elif (
            name.startswith("requirements")
            and not stripped.startswith("-")
            and (m := _REQ_LINE.match(stripped))
            and "==" not in m.group(2)
        ):
            found.append(Finding(agent="security", path=f.path, line=line, severity="suggestion",
                                     rule="deps:unpinned", message=f"`{m.group(1)}` is not pinned to a version."))  # fmt: skip
    return found
