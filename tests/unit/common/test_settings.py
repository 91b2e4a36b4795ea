from pathlib import Path

import pytest

from services.common.settings import Settings

pytestmark = pytest.mark.unit


def test_reads_endpoints_and_ports_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("FORGELINE_KAFKA_PORT", "31000")
    monkeypatch.setenv("FORGELINE_HOME", "/tmp/fl-home")
    s = Settings()
    assert s.kafka_bootstrap_servers == "k:9092"
    assert s.forgeline_kafka_port == 31000
    assert s.state_dir == Path("/tmp/fl-home")


def test_unrelated_variables_do_not_leak_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/root")
    monkeypatch.delenv("FORGELINE_HOME", raising=False)
    assert Settings().forgeline_home == Path(".forgeline")


def test_default_ports_avoid_well_known_ones() -> None:
    s = Settings()
    ports = {v for k, v in s.model_dump().items() if k.endswith("_port") and k.startswith("forgeline_")}
    assert not ports & {5432, 6379, 9092, 7233, 4566, 8080, 8000, 25}
    assert len(ports) == len([k for k in s.model_dump() if k.endswith("_port") and k.startswith("forgeline_")])
