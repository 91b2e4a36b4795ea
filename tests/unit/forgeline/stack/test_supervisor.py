import socket
from pathlib import Path

import pytest

from forgeline.stack import PortTakenError, Stack, isolated_settings

pytestmark = pytest.mark.unit


def test_taken_port_is_named_with_the_variable_that_moves_it(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", settings.local.redis_port))
        sock.listen()
        with pytest.raises(PortTakenError) as err:
            Stack(settings)._check_ports({"components": {}}, ["redis"])
    assert str(settings.local.redis_port) in str(err.value)
    assert "FORGELINE_REDIS_PORT" in str(err.value)


def test_external_endpoint_means_the_part_is_not_started(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path).replace(endpoints={"redis_url": "redis://elsewhere:6379/0"})
    stack = Stack(settings)
    assert stack.components["redis"].external
    assert stack.endpoints_env()["REDIS_URL"] == "redis://elsewhere:6379/0"
    assert not stack.components["kafka"].external


def test_the_openai_backend_without_an_endpoint_gets_the_stacks_own_llm_application(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    assert not Stack(settings).llm_served() and "LLM_BASE_URL" not in Stack(settings).endpoints_env()
    served = Stack(settings.replace(llm={"backend": "openai"}))
    assert served.llm_served()
    assert served.endpoints_env()["LLM_BASE_URL"] == f"{settings.serve_base_url}/llm/v1"
    elsewhere = Stack(settings.replace(llm={"backend": "openai"}, endpoints={"llm_base_url": "http://vllm:8000/v1"}))
    assert not elsewhere.llm_served() and "LLM_BASE_URL" not in elsewhere.endpoints_env()


def test_the_embedded_broker_gets_one_partition_a_kafka_of_yours_the_registrys_counts(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    assert Stack(settings).topic_partitions() == 1
    assert Stack(settings.replace(endpoints={"kafka_bootstrap_servers": "kafka:9092"})).topic_partitions() is None
    assert Stack(settings.replace(kafka={"topic_partitions": 3})).topic_partitions() == 3


async def test_the_kafka_health_check_of_a_kafka_of_yours_authenticates_as_the_services_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    class Admin:
        def __init__(self, **options: object) -> None:
            seen.update(options)

        async def start(self) -> None:
            return None

        async def list_topics(self) -> list[str]:
            return []

        async def close(self) -> None:
            return None

    monkeypatch.setattr("aiokafka.admin.AIOKafkaAdminClient", Admin)
    secured = {"security": "scram-sha-512", "sasl_username": "u", "sasl_password": "p"}
    settings = isolated_settings(tmp_path).replace(endpoints={"kafka_bootstrap_servers": "kafka:9096"}, kafka=secured)
    assert await Stack(settings).check("kafka")
    assert seen["bootstrap_servers"] == "kafka:9096"
    assert (seen["security_protocol"], seen["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
