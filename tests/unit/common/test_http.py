"""The services' command line (`service_cli`) and the container port override."""

import pytest

from services.common.http import listen_port, service_cli
from services.common.settings import get_settings

pytestmark = pytest.mark.unit

ROLES = {"compose": "writes emails", "deliver": "sends them"}


def test_a_role_is_parsed_and_an_unknown_one_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert service_cli("doc", ROLES, ["deliver"]).role == "deliver"
    with pytest.raises(SystemExit) as exit_info:
        service_cli("doc", ROLES, ["send"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'send' (choose from 'compose', 'deliver')" in capsys.readouterr().err


def test_names_after_the_role_only_where_the_service_takes_them() -> None:
    assert service_cli("doc", ROLES, ["compose", "a", "b"], takes_names=True).names == ["a", "b"]
    with pytest.raises(SystemExit):
        service_cli("doc", ROLES, ["compose", "a"])


def test_help_lists_the_roles_and_how_the_service_is_configured(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        service_cli("Runs the email service.", ROLES, ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Runs the email service." in out and "deliver       sends them" in out
    assert "FORGELINE_PORT" in out and "KAFKA_BOOTSTRAP_SERVERS" in out


def test_forgeline_port_overrides_every_service_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORGELINE_PORT", raising=False)
    get_settings.cache_clear()
    assert listen_port(28084) == 28084
    monkeypatch.setenv("FORGELINE_PORT", "8080")
    get_settings.cache_clear()
    try:
        assert listen_port(28084) == 8080
    finally:
        get_settings.cache_clear()
