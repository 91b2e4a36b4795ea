"""Sample pull requests for the code review demo, tests and benchmark.

`planted_pull()` changes a small service with one planted issue per agent; `EXPECTED` says
which agent must report which rule on which new-file line. `clean_pull()` is a tidy change
with its test, which should get an approving summary and no inline comments. `sized_pull()`
builds a larger PR (files x changed lines) for the benchmark.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import httpx

from forgeline.standins.github import file_entry
from services.codereview.changes import ChangedFile
from services.codereview.webhook import sign

OLD_STORE = '''"""Order storage."""

import sqlite3


def connect(path: str) -> sqlite3.Connection:
    """Open the order database."""
    return sqlite3.connect(path)
'''

NEW_STORE = '''"""Order storage."""

import sqlite3
import subprocess

AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def connect(path: str) -> sqlite3.Connection:
    """Open the order database."""
    return sqlite3.connect(path)


def orders_of(conn: sqlite3.Connection, customer: str) -> list[tuple[int, str]]:
    """A customer's orders."""
    return conn.execute(f"SELECT id, item FROM orders WHERE customer = '{customer}'").fetchall()


def archive(name: str) -> None:
    """Compress an export the user named."""
    subprocess.run(f"tar czf {name}.tgz exports/{name}", shell=True, check=True)


def duplicates(items: list[str]) -> list[str]:
    """Items that occur more than once."""
    found = []
    for a in items:
        for b in items:
            if a == b and a not in found:
                found.append(a)
    return found


def total(conn: sqlite3.Connection, ids: list[int]) -> float:
    return sum(conn.execute("SELECT price FROM orders WHERE id = ?", (i,)).fetchone()[0] for i in ids)
'''

# (agent, path, rule, new-file line): each planted issue, found by the right agent there.
EXPECTED: tuple[tuple[str, str, str, int], ...] = (
    ("security", "shop/store.py", "secrets:aws-access-key-id", 6),
    ("security", "shop/store.py", "bandit:B608", 16),
    ("security", "shop/store.py", "bandit:B602", 21),
    ("performance", "shop/store.py", "perf:nested-loop", 28),
    ("performance", "shop/store.py", "perf:query-in-loop", 35),
    ("docs", "shop/store.py", "docs:missing-docstring", 34),
    ("tests", "shop/store.py", "tests:source-without-tests", 4),
)

CLEAN_SOURCE = '''"""Price helpers."""


def with_tax(amount: float, rate: float) -> float:
    """The amount with tax added, rounded to cents."""
    if rate < 0:
        raise ValueError("a tax rate cannot be negative")
    return round(amount * (1 + rate), 2)
'''

CLEAN_TEST = '''"""Tests of the price helpers."""

import pytest

from shop.prices import with_tax


def test_with_tax_rounds_to_cents() -> None:
    assert with_tax(10.0, 0.075) == 10.75


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValueError):
        with_tax(10.0, -0.1)
'''

PullFiles = dict[str, tuple[str | None, str | None]]


def planted_pull() -> PullFiles:
    """The PR with planted issues: `{path: (old text, new text)}`."""
    return {"shop/store.py": (OLD_STORE, NEW_STORE), "README.md": ("# Shop\n", "# Shop\n\nOrders live in SQLite.\n")}


def clean_pull() -> PullFiles:
    """A tidy change with its test."""
    return {"shop/prices.py": (None, CLEAN_SOURCE), "tests/test_prices.py": (None, CLEAN_TEST)}


def sized_pull(files: int = 5, lines: int = 200) -> PullFiles:
    """A new-code PR of `files` files (one of them tests) adding about `lines` lines in all:
    modules in the style of the planted one, padded with small helpers."""
    per_file = max(10, lines // files)
    pull: PullFiles = {}
    for i in range(files - 1):
        body = NEW_STORE.splitlines()
        n = 0
        while len(body) < per_file:
            body += ["", "", f"def helper_{n}(values: list[int]) -> int:", f'    """Helper {n}."""']
            body.append(f"    return sum(v * {n} for v in values)")
            n += 1
        pull[f"shop/module_{i}.py"] = (None, "\n".join(body) + "\n")
    test = CLEAN_TEST.splitlines()
    n = 0
    while len(test) < per_file:
        test += ["", "", f"def test_tax_case_{n}() -> None:", f"    assert with_tax({n}.0, 0.0) == {n}.0"]
        n += 1
    pull["tests/test_modules.py"] = (None, "\n".join(test) + "\n")
    return pull


def changed_files(pull: PullFiles) -> list[ChangedFile]:
    """The PR's files as the orchestrator hands them to the agents (patch, text, added lines)."""
    files = []
    for path, (old, new) in pull.items():
        entry = file_entry(path, old, new)
        files.append(ChangedFile.of(path, entry["status"], entry["patch"], new))
    return files


def pull_request_payload(
    repo: str,
    number: int,
    head_sha: str,
    base_sha: str,
    action: str = "opened",
    *,
    title: str = "Sample change",
    author: str = "octocat",
    draft: bool = False,
) -> dict[str, object]:
    """A `pull_request` webhook body with the fields GitHub sends that the intake reads."""
    owner, name = repo.split("/")
    return {
        "action": action,
        "number": number,
        "pull_request": {"number": number, "title": title, "draft": draft, "user": {"login": author},
                         "head": {"sha": head_sha, "ref": "feature"}, "base": {"sha": base_sha, "ref": "main"}},
        "repository": {"full_name": repo, "name": name, "owner": {"login": owner}},
        "sender": {"login": author},
    }  # fmt: skip


WEBHOOK_PATH = "/v1/webhooks/github"


def signed_webhook(secret: str, payload: dict[str, object], delivery: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A `pull_request` webhook's body and headers, signed as GitHub signs them."""
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
    }
    return body, headers


async def send_webhook(
    http: httpx.AsyncClient, gateway_url: str, secret: str, payload: dict[str, object], delivery: str | None = None
) -> httpx.Response:
    """POST a signed `pull_request` webhook to the gateway, as GitHub does."""
    body, headers = signed_webhook(secret, payload, delivery)
    return await http.post(f"{gateway_url.rstrip('/')}{WEBHOOK_PATH}", content=body, headers=headers)


def fake_sha(seed: str) -> str:
    """A stable 40-hex commit id for a sample commit."""
    return hashlib.sha1(seed.encode()).hexdigest()
