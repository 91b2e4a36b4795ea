import logging
from pathlib import Path

import pytest

from services.common.settings import RENAMED, LocalPorts, Settings, get_settings, renamed_in_use, variables

pytestmark = pytest.mark.unit


def test_reads_endpoints_and_ports_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("FORGELINE_KAFKA_PORT", "31000")
    monkeypatch.setenv("FORGELINE_HOME", "/tmp/fl-home")
    s = Settings()
    assert s.endpoints.kafka_bootstrap_servers == "k:9092"
    assert s.local.kafka_port == 31000
    assert s.state_dir == Path("/tmp/fl-home")


def test_each_group_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEGEN_MAX_SIDE", "256")
    monkeypatch.setenv("LLM_BACKEND", "openai")
    monkeypatch.setenv("EMAIL_FROM", "Shop <s@example.com>")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_BURST", "7")
    s = Settings()
    assert (s.imagegen.max_side, s.llm.backend, s.email.sender, s.gateway.rate_limit_burst) == (
        256,
        "openai",
        "Shop <s@example.com>",
        7,
    )


def test_unrelated_variables_do_not_leak_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/root")
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("MAX_SIDE", "1")
    monkeypatch.delenv("FORGELINE_HOME", raising=False)
    s = Settings()
    assert (s.home, s.port, s.imagegen.max_side) == (Path(".forgeline"), 0, 512)


def test_every_old_name_still_works_and_is_named_with_its_new_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_MAX_SIDE", "128")
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE_IMAGES", "images-b")
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "5")
    monkeypatch.setenv("TOPIC_PARTITIONS", "3")
    monkeypatch.setenv("MODEL_CACHE_PATH", "/tmp/models")
    s = Settings()
    assert (s.imagegen.max_side, s.imagegen.task_queue, s.gateway.rate_limit_per_second) == (128, "images-b", 5.0)
    assert (s.kafka.topic_partitions, s.model_cache_path) == (3, Path("/tmp/models"))
    assert set(RENAMED.values()) <= variables() and not set(RENAMED) & variables()
    lines = renamed_in_use({"IMAGE_MAX_SIDE": "128", "IMAGEGEN_MAX_SIDE": "256", "HOME": "/root"})
    assert lines == [
        "IMAGE_MAX_SIDE was renamed IMAGEGEN_MAX_SIDE; it still works, but set IMAGEGEN_MAX_SIDE instead (both are set: IMAGEGEN_MAX_SIDE wins)"
    ]


def test_the_new_name_wins_and_the_old_one_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("IMAGE_PRICE_CREDITS", "3")
    monkeypatch.setenv("IMAGEGEN_PRICE_CREDITS", "4")
    get_settings.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="forgeline.settings"):
            assert get_settings().imagegen.price_credits == 4
    finally:
        get_settings.cache_clear()
    assert "IMAGE_PRICE_CREDITS was renamed IMAGEGEN_PRICE_CREDITS" in caplog.text


def test_replace_changes_one_field_of_a_group_and_keeps_the_rest() -> None:
    s = Settings()
    changed = s.replace(home=Path("/x"), endpoints={"redis_url": "redis://r:6379/0"})
    assert (changed.home, changed.endpoints.redis_url) == (Path("/x"), "redis://r:6379/0")
    assert changed.endpoints.s3_bucket == s.endpoints.s3_bucket and s.endpoints.redis_url != "redis://r:6379/0"


def test_default_ports_avoid_well_known_ones() -> None:
    ports = list(LocalPorts().model_dump().values())
    assert not set(ports) & {5432, 6379, 9092, 7233, 4566, 8080, 8000, 25}
    assert len(set(ports)) == len(ports)
