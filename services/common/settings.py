"""The one settings object. Every service and the operator CLI read configuration here.

`Settings` groups the variables by domain, one environment prefix per group:

| group        | prefix       | what                                                        |
| ------------ | ------------ | ----------------------------------------------------------- |
| (top level)  | FORGELINE_   | this process: service name, home, faults file, bind address |
| `endpoints`  | (none)       | where the backing services are, and their credentials       |
| `local`      | FORGELINE_   | the ports the local stack binds on 127.0.0.1                |
| `kafka`      | KAFKA_       | Kafka client behaviour and authentication                   |
| `retry`      | RETRY_       | the consumers' retry/DLQ policy                             |
| `client`     | CLIENT_      | timeouts and retries of outgoing calls                      |
| `gateway`    | GATEWAY_     | the HTTP API's limits                                       |
| `echo`, `imagegen`, `email`, `moderation`, `codereview`, `llm`, `github` | ECHO_, IMAGEGEN_, ... | each pipeline's own |

Endpoints come from the environment, so a service never knows whether it runs under
`forgeline up` or on Kubernetes. Variables renamed when the groups were made (`RENAMED`) still
work; `renamed_in_use` names the new spelling, and `get_settings` warns once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

RENAMED: dict[str, str] = {}  # old variable -> its new name


def _renamed(new: str, old: str, default: Any) -> Any:
    """A field read from `new`, and still from `old` (the name it had before)."""
    RENAMED[old] = new
    return Field(default, validation_alias=AliasChoices(new.lower(), old.lower()))


def _config(prefix: str) -> SettingsConfigDict:
    # Field names (with the prefix) are the variable names, case-insensitive, so nothing else in
    # the environment (HOME, PORT, ...) can leak into a field.
    return SettingsConfigDict(env_prefix=prefix, env_file=None, extra="ignore", validate_by_name=True)


class Endpoints(BaseSettings):
    """Where the backing services are. Empty means "the local stack provides it"."""

    model_config = _config("")

    kafka_bootstrap_servers: str = ""
    s3_endpoint_url: str = ""
    s3_bucket: str = "forgeline"
    # Empty: boto3's own chain (IRSA on EKS); the local stack sets its S3 server's keys.
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""
    aws_region: str = "us-east-1"
    database_url: str = ""
    redis_url: str = ""
    temporal_address: str = ""
    temporal_namespace: str = "default"
    ray_address: str = ""
    serve_url: str = ""  # Ray Serve's HTTP proxy; empty: the local stack's
    smtp_host: str = ""
    smtp_port: int = 0
    github_api_url: str = "https://api.github.com"
    llm_base_url: str = ""
    qdrant_url: str = ""  # empty: embedded local mode under <forgeline_home>/qdrant
    otel_exporter_otlp_endpoint: str = ""


class LocalPorts(BaseSettings):
    """Ports of the local stack on 127.0.0.1 (`forgeline up` only). Defaults stay below the
    ephemeral range and away from the well-known ports, so a developer's own Postgres, Redis or
    Kafka is not disturbed."""

    model_config = _config("FORGELINE_")

    s3_port: int = 24566
    kafka_port: int = 29092
    temporal_port: int = 27233
    temporal_ui_port: int = 28233
    postgres_port: int = 25432
    redis_port: int = 26379
    ray_port: int = 26380
    ray_client_port: int = 26381
    ray_agent_port: int = 26382
    ray_dashboard_port: int = 26383
    serve_port: int = 28000
    smtp_port: int = 22525
    gateway_port: int = 28080
    echo_port: int = 28081
    imagegen_port: int = 28082
    imagegen_worker_port: int = 28083
    email_port: int = 28084
    email_delivery_port: int = 28085
    moderation_rules_port: int = 28086
    moderation_classifier_port: int = 28087
    moderation_judge_port: int = 28088
    codereview_orchestrator_port: int = 28089
    codereview_aggregator_port: int = 28090
    codereview_publisher_port: int = 28091
    codereview_quality_port: int = 28092
    codereview_security_port: int = 28093
    codereview_performance_port: int = 28094
    codereview_tests_port: int = 28095
    codereview_docs_port: int = 28096
    github_port: int = 28097

    def port_of(self, part: str) -> int:
        """The port of a local part by its stack name (`moderation-rules` -> moderation_rules_port)."""
        port: int = getattr(self, f"{part.replace('-', '_')}_port")
        return port


class ServeScaling(BaseSettings):
    """A Ray Serve model deployment's size and autoscaling (services/common/serve.model_options).
    Each domain's group subclasses it with its own prefix and defaults: 0 GPUs locally and in
    CI, 1 or a fraction on GPU nodes."""

    num_gpus: float = 0.0
    num_cpus: float = 0.5
    min_replicas: int = 1
    max_replicas: int = 2
    max_batch_size: int = 16
    batch_wait_timeout_s: float = 0.05
    target_ongoing_requests: float | None = None  # per replica before scaling up; None: max_batch_size
    max_ongoing_requests: int | None = None  # per replica; None: 4 x max_batch_size, at least 16
    upscale_delay_s: float = 5.0
    downscale_delay_s: float = 30.0


class KafkaClient(BaseSettings):
    """How clients talk to the brokers."""

    model_config = _config("KAFKA_")

    # Short session timeouts: a dead member's partitions move fast.
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    linger_ms: int = 5
    fetch_max_wait_ms: int = 100  # how long a fetch waits for data: an upper bound on idle pickup latency
    # plaintext (local, Strimzi on kind), tls, scram-sha-256 / scram-sha-512
    # (KAFKA_SASL_USERNAME/PASSWORD, over TLS) or msk-iam (Amazon MSK with IAM access control:
    # the pod's AWS role signs, over TLS).
    security: Literal["plaintext", "tls", "scram-sha-256", "scram-sha-512", "msk-iam"] = "plaintext"
    sasl_username: str = ""
    sasl_password: str = ""
    ssl_cafile: Path | None = None  # empty: the system's CA bundle
    # Partitions of every topic `prepare` creates. Unset: each topic's own count from the registry
    # (services/common/topics.py), as the Helm chart creates them; `forgeline up` creates 1 on its
    # embedded broker (docs/NOTES.md says why).
    topic_partitions: int | None = _renamed("KAFKA_TOPIC_PARTITIONS", "TOPIC_PARTITIONS", None)


class RetryPolicy(BaseSettings):
    """The consumers' retry/DLQ policy (services/common/consumer.py)."""

    model_config = _config("RETRY_")

    max_attempts: int = 4
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0


class ClientPolicy(BaseSettings):
    """Timeouts and retries of outgoing calls, set in one place."""

    model_config = _config("CLIENT_")

    timeout_s: float = 5.0
    retries: int = 3


class GatewaySettings(BaseSettings):
    """The HTTP API's limits, and the parts the console's System view reads."""

    model_config = _config("GATEWAY_")

    max_body_bytes: int = _renamed("GATEWAY_MAX_BODY_BYTES", "API_MAX_BODY_BYTES", 64 * 1024)
    rate_limit_per_second: float = _renamed("GATEWAY_RATE_LIMIT_PER_SECOND", "RATE_LIMIT_PER_SECOND", 200.0)
    rate_limit_burst: int = _renamed("GATEWAY_RATE_LIMIT_BURST", "RATE_LIMIT_BURST", 400)
    auth_cache_ttl_s: float = _renamed("GATEWAY_AUTH_CACHE_TTL_S", "AUTH_CACHE_TTL_S", 10.0)
    # GATEWAY_PARTS, JSON: each part's name -> its readiness URL (`forgeline up` and the chart set it).
    parts: dict[str, str] = {}
    # GATEWAY_DRILLS_HOME: the local stack's drill catalogue and runs (`forgeline up` sets it);
    # unset (a cluster), the console lists no drills and says how to run them there.
    drills_home: Path | None = None
    # GATEWAY_DRILLS_ENV_UNSET: the variables `forgeline up` added to the gateway's environment
    # (endpoints of the stack's own parts), which a drill runner started here must not inherit.
    drills_env_unset: list[str] = []


class EchoSettings(BaseSettings):
    """Echo consumer: records per Kafka batch, handled `concurrency` at a time. One offset commit
    and batched publishes per batch keep it ahead of the gateway's intake (one record at a time
    it managed ~130/s on Tansu-on-S3, a quarter of it)."""

    model_config = _config("ECHO_")

    batch_size: int = 64
    concurrency: int = 16


class ImagegenSettings(ServeScaling):
    """Image jobs: request bounds, prices, cache, storage, and the Ray Serve deployment."""

    model_config = _config("IMAGEGEN_")

    min_side: int = _renamed("IMAGEGEN_MIN_SIDE", "IMAGE_MIN_SIDE", 64)
    # A 512 px PNG of noise is ~0.8 MB: below Temporal's 2 MB payload limit.
    max_side: int = _renamed("IMAGEGEN_MAX_SIDE", "IMAGE_MAX_SIDE", 512)
    max_steps: int = _renamed("IMAGEGEN_MAX_STEPS", "IMAGE_MAX_STEPS", 50)
    price_credits: int = _renamed("IMAGEGEN_PRICE_CREDITS", "IMAGE_PRICE_CREDITS", 10)
    cache_price_credits: int = _renamed("IMAGEGEN_CACHE_PRICE_CREDITS", "IMAGE_CACHE_PRICE_CREDITS", 1)
    cache_ttl_s: int = _renamed("IMAGEGEN_CACHE_TTL_S", "IMAGE_CACHE_TTL_S", 24 * 3600)
    prompt_blocklist: list[str] = _renamed(
        "IMAGEGEN_PROMPT_BLOCKLIST", "IMAGE_PROMPT_BLOCKLIST", ["gore", "beheading", "child abuse", "nude minor"]
    )
    presign_ttl_s: int = _renamed("IMAGEGEN_PRESIGN_TTL_S", "IMAGE_PRESIGN_TTL_S", 900)
    model_path: Path | None = _renamed("IMAGEGEN_MODEL_PATH", "IMAGE_MODEL_PATH", None)  # default: <home>/models/tiny-sd
    task_queue: str = _renamed("IMAGEGEN_TASK_QUEUE", "TEMPORAL_TASK_QUEUE_IMAGES", "imagegen")
    # A generation takes long: scale on a short queue, and soon.
    max_batch_size: int = 8
    target_ongoing_requests: float | None = 2.0
    max_ongoing_requests: int | None = 16
    upscale_delay_s: float = 3.0
    downscale_delay_s: float = 10.0


class LlmSettings(ServeScaling):
    """Writing steps (email, moderation judge, review pass): template | openai | local, and the
    Ray Serve LLM application (services/llm), whose `/v1` routes require `Bearer LLM_API_KEY`
    when that is set."""

    model_config = _config("LLM_")

    backend: str = "template"
    model: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    api_key: str = ""
    use_gpu: bool = False  # local backend: bf16 on CUDA when present
    downscale_delay_s: float = 60.0
    default_max_tokens: int = 256
    max_tokens_limit: int = 1024
    # The engine (services/llm/engine.py): max_batch_size rows decode at once, each in a cache
    # slot of max_context tokens (prompt + answer); a step admits prompts up to prefill_tokens
    # (None: 4096 on a CPU, 16384 on a GPU).
    max_context: int = 2048
    prefill_tokens: int | None = None


class EmailSettings(BaseSettings):
    """Marketing email."""

    model_config = _config("EMAIL_")

    sender: str = Field(default="Forgeline Shop <shop@forgeline.example>", validation_alias=AliasChoices("email_from"))
    shop_url: str = "https://shop.forgeline.example/cart"
    allowed_link_domains: list[str] = ["shop.forgeline.example", "forgeline.example"]
    offbrand_terms: list[str] = ["cheap", "dirt cheap", "act now", "last chance", "guaranteed", "free money", "crazy deal"]
    # The toxicity guardrail: the moderation policy of this country; its categories whose mere
    # signal refuses a draft; and the classifier's P(hate) + P(offensive) from which a draft
    # fails (even odds that it is abusive; `forgeline eval moderation`, "email_guardrail").
    policy_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    refused_signals: list[str] = ["slur", "insult", "profanity"]
    max_toxicity: float = Field(default=0.5, gt=0.0, le=1.0)
    frequency_cap_hours: float = 24.0
    generation_attempts: int = 3
    item_cache_ttl_s: int = 600
    batch_size: int = 32  # records per Kafka batch for the composer and delivery consumers
    concurrency: int = 16  # records of one batch handled at once (one key's stay in order)


class ModerationSettings(ServeScaling):
    """Content moderation."""

    model_config = _config("MODERATION_")

    policy_path: Path | None = None  # default: the shipped services/moderation/policies/v1.yaml
    model_path: Path | None = None  # default: <forgeline_home>/models/moderation-classifier
    data_path: Path | None = None  # default: ../shared/data/moderation/labeled_data.csv beside the repo
    train_limit: int | None = None  # fewer training rows (quick models for tests)
    reject_precision: float = 0.5  # tier 2 rejects where validation precision reaches this
    max_miss_rate: float = 0.05  # tier 2 approves below the score that misses this share of hate
    judge_min_confidence: float = 0.6  # below: human review
    judge_attempts: int = 2
    review_claim_ttl_s: float = 300.0
    batch_max_items: int = 500  # POST /v1/content/batch
    batch_max_bytes: int = 4 * 1024 * 1024
    batch_size: int = 64
    concurrency: int = 32
    max_batch_size: int = 64
    batch_wait_timeout_s: float = 0.02


class GithubSettings(BaseSettings):
    """GitHub webhooks (the secret per repository wins over the default one) and its API
    (`GITHUB_API_URL` among the endpoints)."""

    model_config = _config("GITHUB_")

    webhook_secret: str = ""
    webhook_secrets: dict[str, str] = {}  # {"owner/repo": secret}, JSON in the environment
    repositories: list[str] = []  # accepted repositories; empty: any with a secret
    webhook_max_bytes: int = 1024 * 1024
    token: str = ""
    max_attempts: int = 5  # per request: 5xx, transport errors and short rate limits
    backoff_initial_s: float = 1.0


class CodereviewSettings(BaseSettings):
    """The review plan."""

    model_config = _config("CODEREVIEW_")

    min_changed_lines: int = 5  # below: skipped with a short comment
    tokens_per_line: int = 20  # LLM budget: 2000 + this x changed lines ...
    max_tokens: int = 20_000  # ... capped here
    deadline_s: float = 60.0  # agents not reported by then are named missing
    max_inline_comments: int = 25
    max_file_bytes: int = 512 * 1024  # larger files get patch-only checks
    sweep_every_s: float = 2.0  # the aggregator's deadline check
    usd_per_1k_tokens: float = 0.0006  # cost estimate in the summary and the bench
    agent_concurrency: int = 4  # tasks one agent process analyses side by side
    llm_pass: bool = False  # each agent also asks LLM_BACKEND, within the PR's budget


def _user_cache() -> Path:
    """The XDG cache directory."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


class Settings(BaseSettings):
    """Configuration read once from the environment (see `get_settings`)."""

    model_config = _config("FORGELINE_")

    service: str = "forgeline"
    home: Path = Path(".forgeline")
    faults: Path | None = None
    bind_host: str = "127.0.0.1"  # 0.0.0.0 in a pod (the image sets it)
    # The name other machines reach this stack's servers by: what Kafka advertises. The
    # backing container of `forgeline containers up` sets its own name.
    advertised_host: str = "127.0.0.1"
    port: int = 0  # one port for whichever service runs here (the image: 8080); 0: the service's own
    # Models trained on this machine, shared by every stack home (default: $XDG_CACHE_HOME/forgeline/models).
    model_cache_path: Path = Field(
        default_factory=lambda: _user_cache() / "forgeline" / "models",
        validation_alias=AliasChoices("forgeline_model_cache_path", "model_cache_path"),
    )

    endpoints: Endpoints = Field(default_factory=Endpoints)
    local: LocalPorts = Field(default_factory=LocalPorts)
    kafka: KafkaClient = Field(default_factory=KafkaClient)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    client: ClientPolicy = Field(default_factory=ClientPolicy)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    echo: EchoSettings = Field(default_factory=EchoSettings)
    imagegen: ImagegenSettings = Field(default_factory=ImagegenSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    github: GithubSettings = Field(default_factory=GithubSettings)
    codereview: CodereviewSettings = Field(default_factory=CodereviewSettings)

    def replace(self, **changes: Any) -> Settings:
        """A copy with fields changed: top-level ones by value, a group's by a dict of its fields
        (`settings.replace(home=p, endpoints={"redis_url": url})`)."""
        update: dict[str, Any] = {}
        for name, value in changes.items():
            current = getattr(self, name)
            update[name] = (
                current.model_copy(update=value) if isinstance(current, BaseModel) and isinstance(value, Mapping) else value
            )
        return self.model_copy(update=update)

    @property
    def moderation_training_data(self) -> Path:
        """Davidson's labeled_data.csv (`MODERATION_DATA_PATH`, else the workspace's shared data)."""
        repo = Path(__file__).resolve().parents[2]
        default = repo.parent / "shared" / "data" / "moderation" / "labeled_data.csv"
        return (self.moderation.data_path or default).resolve()

    @property
    def moderation_model_dir(self) -> Path:
        """Where the tier-2 classifier is loaded from (`MODERATION_MODEL_PATH`)."""
        return self.moderation.model_path or self.state_dir / "models" / "moderation-classifier"

    @property
    def model_cache_dir(self) -> Path:
        """Absolute `FORGELINE_MODEL_CACHE_PATH`: models trained on this machine, for every stack home."""
        return self.model_cache_path.resolve()

    @property
    def state_dir(self) -> Path:
        """Absolute `.forgeline/` directory (state, logs, traces, mail)."""
        return self.home.resolve()

    @property
    def image_model_dir(self) -> Path:
        """Where the image pipeline is loaded from (`IMAGEGEN_MODEL_PATH`)."""
        return self.imagegen.model_path or self.state_dir / "models" / "tiny-sd"

    @property
    def serve_base_url(self) -> str:
        """Ray Serve's HTTP proxy (`SERVE_URL`, else the local stack's port)."""
        return self.endpoints.serve_url or f"http://127.0.0.1:{self.local.serve_port}"


RENAMED["MODEL_CACHE_PATH"] = "FORGELINE_MODEL_CACHE_PATH"


def variables() -> set[str]:
    """Every environment variable the settings read (current names, upper case)."""
    names: set[str] = set()
    groups: list[type[BaseSettings]] = [Settings]
    groups += [f.default_factory for f in Settings.model_fields.values() if isinstance(f.default_factory, type)]
    for model in groups:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, info in model.model_fields.items():
            if isinstance(info.default_factory, type):
                continue  # a group, listed with its own prefix
            alias = info.validation_alias
            names.add((str(alias.choices[0]) if isinstance(alias, AliasChoices) else prefix + name).upper())
    return names


def renamed_in_use(environ: Mapping[str, str]) -> list[str]:
    """One line per old variable name set in `environ`, naming what to set instead."""
    upper = {k.upper() for k in environ}
    return [
        f"{old} was renamed {new}; it still works, but set {new} instead"
        + (f" (both are set: {new} wins)" if new in upper else "")
        for old, new in sorted(RENAMED.items())
        if old in upper
    ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    for line in renamed_in_use(os.environ):
        logging.getLogger("forgeline.settings").warning(line)
    return Settings()
