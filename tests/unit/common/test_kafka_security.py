"""How clients authenticate to Kafka (`KAFKA_SECURITY`): one set of options for the services'
brokers and every raw aiokafka client (no broker needed)."""

import ssl

import pytest
from faststream.kafka import KafkaBroker

from services.common import broker as broker_module
from services.common.broker import MSKIAMTokenProvider, create_broker, kafka_client_options
from services.common.settings import Endpoints, KafkaClient, Settings

pytestmark = pytest.mark.unit

SERVERS = "b-1.msk.example:9098"


def kafka(servers: str, **client: str) -> Settings:
    """Settings with these brokers and client options (validated, as when read from the environment)."""
    return Settings(endpoints=Endpoints(kafka_bootstrap_servers=servers), kafka=KafkaClient(**client))  # type: ignore[arg-type]


def test_plaintext_is_the_servers_alone() -> None:
    assert kafka_client_options(kafka("127.0.0.1:9092")) == {"bootstrap_servers": "127.0.0.1:9092"}
    with pytest.raises(RuntimeError, match="KAFKA_BOOTSTRAP_SERVERS is not set"):
        kafka_client_options(Settings())


def test_tls_and_scram_use_tls_with_the_system_cas() -> None:
    tls = kafka_client_options(kafka(SERVERS, security="tls"))
    assert tls["security_protocol"] == "SSL" and isinstance(tls["ssl_context"], ssl.SSLContext)
    scram = kafka_client_options(kafka(SERVERS, security="scram-sha-512", sasl_username="u", sasl_password="p"))
    assert scram["security_protocol"] == "SASL_SSL" and scram["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (scram["sasl_plain_username"], scram["sasl_plain_password"]) == ("u", "p")


def test_scram_without_credentials_says_which_variables_to_set() -> None:
    with pytest.raises(RuntimeError, match="needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        kafka_client_options(kafka(SERVERS, security="scram-sha-256"))


def test_an_unknown_mode_is_refused_when_settings_are_read() -> None:
    with pytest.raises(ValueError, match="msk-iam"):
        KafkaClient(security="kerberos")  # type: ignore[arg-type]


async def test_msk_iam_signs_tokens_for_the_region_with_the_pods_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    options = kafka_client_options(
        Settings(
            endpoints=Endpoints(kafka_bootstrap_servers=SERVERS, aws_region="eu-west-1"), kafka=KafkaClient(security="msk-iam")
        )
    )
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "OAUTHBEARER"
    provider = options["sasl_oauth_token_provider"]
    assert isinstance(provider, MSKIAMTokenProvider)
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # a module holding one function

    regions: list[str] = []
    monkeypatch.setattr(
        MSKAuthTokenProvider, "generate_auth_token", lambda region: (regions.append(region), ("signed-token", 900_000))[1]
    )
    assert await provider.token() == "signed-token" and regions == ["eu-west-1"]


def test_the_services_broker_gets_the_same_authentication(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    real = broker_module.KafkaBroker

    def recording(*args: object, **kwargs: object) -> KafkaBroker:
        seen.update(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(broker_module, "KafkaBroker", recording)
    create_broker(kafka(SERVERS, security="msk-iam"), "gateway")
    assert type(seen["security"]).__name__ == "SASLOAuthBearer"
    assert isinstance(seen["sasl_oauth_token_provider"], MSKIAMTokenProvider)
