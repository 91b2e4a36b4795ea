"""CLI wiring that runs in pods as well as beside a local stack."""

from pathlib import Path

import pytest

from forgeline import cli
from services.common.settings import get_settings

pytestmark = pytest.mark.unit


def test_without_a_stack_json_the_environment_is_all_there_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pod (`kubectl exec deploy/gateway -- python -m forgeline tenants create`) there is no
    stack.json, and building a Stack would import server packages the image leaves out."""

    def no_stack(*_: object) -> None:
        raise AssertionError("a Stack was built with no stack.json")

    monkeypatch.setenv("FORGELINE_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.example:5432/forgeline")
    monkeypatch.setattr(cli, "Stack", no_stack)
    get_settings.cache_clear()
    try:
        assert cli.use_stack_env().endpoints.database_url == "postgresql://app@db.example:5432/forgeline"
    finally:
        get_settings.cache_clear()
