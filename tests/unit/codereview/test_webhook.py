import json
from pathlib import Path
from typing import Any

import pytest

from services.codereview.webhook import WebhookError, repository_of, review_request, secret_for, sign, verify_signature

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "github"


def payload(name: str) -> dict[str, Any]:
    path = PAYLOADS / "pull_request" / f"{name}.payload.json"
    if not path.exists():
        pytest.skip(f"the GitHub payload examples are absent ({path})")
    return dict(json.loads(path.read_text()))


def test_signatures_are_checked_in_constant_time_against_the_raw_body() -> None:
    body = b'{"a": 1}'
    verify_signature(body, "s3cret", sign(body, "s3cret"))
    for bad in (None, "", "sha1=abc", sign(body, "other"), sign(body + b" ", "s3cret")):
        with pytest.raises(WebhookError) as refused:
            verify_signature(body, "s3cret", bad)
        assert refused.value.status == 401


def test_the_repository_secret_wins_and_unknown_repositories_are_refused() -> None:
    assert secret_for("o/r", "default", {"o/r": "mine"}, []) == "mine"
    assert secret_for("o/x", "default", {"o/r": "mine"}, []) == "default"
    with pytest.raises(WebhookError, match="not configured") as refused:
        secret_for("o/x", "default", {}, ["o/r"])
    assert refused.value.status == 404
    with pytest.raises(WebhookError, match="no webhook secret"):
        secret_for("o/x", "", {}, [])


def test_real_pull_request_payloads_become_review_requests() -> None:
    opened = review_request("pull_request", "d-1", payload("opened"))
    assert not isinstance(opened, str)
    assert (opened.repo, opened.number, opened.action) == ("Codertocat/Hello-World", 2, "opened")
    assert opened.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert opened.key() == b"Codertocat/Hello-World#2"
    synchronize = review_request("pull_request", "d-2", payload("synchronize"))
    assert not isinstance(synchronize, str) and synchronize.action == "synchronize"


def test_other_events_actions_and_drafts_are_ignored_with_a_reason() -> None:
    assert "not reviewed" in str(review_request("pull_request", "d", payload("closed")))
    assert "not reviewed" in str(review_request("issues", "d", payload("opened")))
    draft = payload("opened")
    draft["pull_request"]["draft"] = True
    assert "draft" in str(review_request("pull_request", "d", draft))


def test_malformed_payloads_are_400() -> None:
    with pytest.raises(WebhookError) as refused:
        review_request("pull_request", "d", {"action": "opened", "repository": {"full_name": "o/r"}})
    assert refused.value.status == 400
    for payload in (["not", "an", "object"], {"repository": [None, None]}, {"repository": {"full_name": 7}}):
        with pytest.raises(WebhookError, match="full_name"):
            repository_of(payload)  # a 400, never a crash (found by schemathesis)
