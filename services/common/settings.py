"""The one settings object. Every service and the operator CLI read configuration here.

Endpoints come from the environment (so a service never knows whether it runs under
`forgeline up` or on Kubernetes). The `FORGELINE_*_PORT` values only matter to the local
stack supervisor: they pick the ports it binds on 127.0.0.1.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration read once from the environment (see `get_settings`)."""

    # Field names are the variable names (case-insensitive), so nothing else in the
    # environment (HOME, PORT, ...) can leak into a field.
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    forgeline_service: str = "forgeline"
    forgeline_home: Path = Path(".forgeline")
    forgeline_faults: Path | None = None

    # Endpoints. Empty means "the local stack provides it".
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
    smtp_host: str = ""
    smtp_port: int = 0
    github_api_url: str = "https://api.github.com"
    llm_base_url: str = ""
    otel_exporter_otlp_endpoint: str = ""

    # Local stack ports (127.0.0.1). Defaults stay below the ephemeral range and away from
    # the well-known ports so a developer's own Postgres, Redis or Kafka is not disturbed.
    forgeline_s3_port: int = 24566
    forgeline_kafka_port: int = 29092
    forgeline_temporal_port: int = 27233
    forgeline_temporal_ui_port: int = 28233
    forgeline_postgres_port: int = 25432
    forgeline_redis_port: int = 26379
    forgeline_ray_port: int = 26380
    forgeline_ray_client_port: int = 26381
    forgeline_ray_agent_port: int = 26382
    forgeline_ray_dashboard_port: int = 26383
    forgeline_serve_port: int = 28000
    forgeline_smtp_port: int = 22525
    forgeline_gateway_port: int = 28080
    forgeline_echo_port: int = 28081
    forgeline_imagegen_port: int = 28082
    forgeline_imagegen_worker_port: int = 28083
    forgeline_email_port: int = 28084
    forgeline_email_delivery_port: int = 28085
    forgeline_moderation_rules_port: int = 28086
    forgeline_moderation_classifier_port: int = 28087
    forgeline_moderation_judge_port: int = 28088
    forgeline_codereview_orchestrator_port: int = 28089
    forgeline_codereview_aggregator_port: int = 28090
    forgeline_codereview_publisher_port: int = 28091
    forgeline_codereview_quality_port: int = 28092
    forgeline_codereview_security_port: int = 28093
    forgeline_codereview_performance_port: int = 28094
    forgeline_codereview_tests_port: int = 28095
    forgeline_codereview_docs_port: int = 28096
    forgeline_github_port: int = 28097
    forgeline_bind_host: str = "127.0.0.1"  # 0.0.0.0 in a pod (the image sets it)
    forgeline_port: int = 0  # one port for whichever service runs here (the image: 8080); 0: the service's own

    # Kafka consumer behaviour (short session timeouts: a dead member's partitions move fast).
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 1000
    kafka_linger_ms: int = 5
    kafka_fetch_max_wait_ms: int = 100  # how long a fetch waits for data: an upper bound on idle pickup latency
    # How clients authenticate to the brokers: plaintext (local, Strimzi on kind), tls,
    # scram-sha-256 / scram-sha-512 (KAFKA_SASL_USERNAME/PASSWORD, over TLS) or msk-iam
    # (Amazon MSK with IAM access control: the pod's AWS role signs, over TLS).
    kafka_security: Literal["plaintext", "tls", "scram-sha-256", "scram-sha-512", "msk-iam"] = "plaintext"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_cafile: Path | None = None  # empty: the system's CA bundle
    # Partitions of every topic `prepare` creates. Unset: each topic's own count from the registry
    # (services/common/topics.py), as the Helm chart creates them; `forgeline up` creates 1 on its
    # embedded broker (forgeline/stack.py says why).
    topic_partitions: int | None = Field(default=None, ge=1)

    # Retry / DLQ policy.
    retry_max_attempts: int = 4
    retry_backoff_initial_s: float = 0.5
    retry_backoff_max_s: float = 10.0

    # Client timeouts and retries, set in one place.
    client_timeout_s: float = 5.0
    client_retries: int = 3

    # Gateway.
    api_max_body_bytes: int = 64 * 1024
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    auth_cache_ttl_s: float = 10.0

    # Echo consumer: records per Kafka batch, handled `echo_concurrency` at a time. One
    # offset commit and batched publishes per batch keep it ahead of the gateway's intake
    # (one record at a time it managed ~130/s on Tansu-on-S3, a quarter of it).
    echo_batch_size: int = 64
    echo_concurrency: int = 16

    # Image jobs: request bounds, prices, cache, storage.
    image_min_side: int = 64
    image_max_side: int = 512  # a 512 px PNG of noise is ~0.8 MB: below Temporal's 2 MB payload limit
    image_max_steps: int = 50
    image_price_credits: int = 10
    image_cache_price_credits: int = 1
    image_cache_ttl_s: int = 24 * 3600
    image_prompt_blocklist: list[str] = ["gore", "beheading", "child abuse", "nude minor"]
    image_presign_ttl_s: int = 900
    image_model_path: Path | None = None  # default: <forgeline_home>/models/tiny-sd
    temporal_task_queue_images: str = "imagegen"

    # LLM (email generation, moderation judge): template | openai | local.
    llm_backend: str = "template"
    llm_model: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    llm_api_key: str = ""
    llm_use_gpu: bool = False  # local backend: fp16 on CUDA when present
    # The Ray Serve LLM application (services/llm): SmolLM2 behind an OpenAI-compatible API.
    # Its `/v1` routes require `Bearer LLM_API_KEY` when that is set.
    llm_num_gpus: float = 0.0
    llm_num_cpus: float = 0.5
    llm_min_replicas: int = 1
    llm_max_replicas: int = 2
    llm_max_batch_size: int = 16
    llm_batch_wait_timeout_s: float = 0.05
    llm_default_max_tokens: int = 256
    llm_max_tokens_limit: int = 1024

    # Marketing email.
    qdrant_url: str = ""  # empty: embedded local mode under <forgeline_home>/qdrant
    email_from: str = "Forgeline Shop <shop@forgeline.example>"
    email_shop_url: str = "https://shop.forgeline.example/cart"
    email_allowed_link_domains: list[str] = ["shop.forgeline.example", "forgeline.example"]
    email_offbrand_terms: list[str] = ["cheap", "dirt cheap", "act now", "last chance", "guaranteed", "free money", "crazy deal"]
    email_frequency_cap_hours: float = 24.0
    email_generation_attempts: int = 3
    email_item_cache_ttl_s: int = 600
    email_batch_size: int = 32  # records per Kafka batch for the composer and delivery consumers
    email_concurrency: int = 16  # records of one batch handled at once (one key's stay in order)

    # Ray Serve image deployment (0 GPUs locally and in CI; 1 or a fraction on GPU nodes).
    serve_url: str = ""  # Serve's HTTP proxy; empty: the local stack's
    imagegen_num_gpus: float = 0.0
    imagegen_num_cpus: float = 0.5
    imagegen_min_replicas: int = 1
    imagegen_max_replicas: int = 2
    imagegen_target_ongoing_requests: float = 2.0
    imagegen_upscale_delay_s: float = 3.0
    imagegen_downscale_delay_s: float = 10.0
    imagegen_max_batch_size: int = 8
    imagegen_batch_wait_timeout_s: float = 0.05

    # Content moderation.
    moderation_policy_path: Path | None = None  # default: the shipped services/moderation/policies/v1.yaml
    moderation_model_path: Path | None = None  # default: <forgeline_home>/models/moderation-classifier
    moderation_data_path: Path | None = None  # default: ../shared/data/moderation/labeled_data.csv beside the repo
    moderation_train_limit: int | None = None  # fewer training rows (quick models for tests)
    # Models trained on this machine, shared by every stack home (default: $XDG_CACHE_HOME/forgeline/models).
    model_cache_path: Path = Field(default_factory=lambda: _user_cache() / "forgeline" / "models")
    moderation_reject_precision: float = 0.5  # tier 2 rejects where validation precision reaches this
    moderation_max_miss_rate: float = 0.05  # tier 2 approves below the score that misses this share of hate
    moderation_judge_min_confidence: float = 0.6  # below: human review
    moderation_judge_attempts: int = 2
    moderation_review_claim_ttl_s: float = 300.0
    moderation_batch_max_items: int = 500  # POST /v1/content/batch
    moderation_batch_max_bytes: int = 4 * 1024 * 1024
    moderation_batch_size: int = 64
    moderation_concurrency: int = 32
    moderation_num_gpus: float = 0.0
    moderation_num_cpus: float = 0.5
    moderation_min_replicas: int = 1
    moderation_max_replicas: int = 2
    moderation_max_batch_size: int = 64
    moderation_batch_wait_timeout_s: float = 0.02

    # Code review: GitHub webhooks (the secret per repository wins over the default one).
    github_webhook_secret: str = ""
    github_webhook_secrets: dict[str, str] = {}  # {"owner/repo": secret}, JSON in the environment
    github_repositories: list[str] = []  # accepted repositories; empty: any with a secret
    github_webhook_max_bytes: int = 1024 * 1024
    # Code review: the GitHub API (`GITHUB_API_URL`, default api.github.com) and the review plan.
    github_token: str = ""
    github_max_attempts: int = 5  # per request: 5xx, transport errors and short rate limits
    github_backoff_initial_s: float = 1.0
    codereview_min_changed_lines: int = 5  # below: skipped with a short comment
    codereview_tokens_per_line: int = 20  # LLM budget: 2000 + this x changed lines ...
    codereview_max_tokens: int = 20_000  # ... capped here
    codereview_deadline_s: float = 60.0  # agents not reported by then are named missing
    codereview_max_inline_comments: int = 25
    codereview_max_file_bytes: int = 512 * 1024  # larger files get patch-only checks
    codereview_sweep_every_s: float = 2.0  # the aggregator's deadline check
    codereview_usd_per_1k_tokens: float = 0.0006  # cost estimate in the summary and the bench
    codereview_agent_concurrency: int = 4  # tasks one agent process analyses side by side
    codereview_llm_pass: bool = False  # each agent also asks LLM_BACKEND, within the PR's budget

    @property
    def moderation_training_data(self) -> Path:
        """Davidson's labeled_data.csv (`MODERATION_DATA_PATH`, else the workspace's shared data)."""
        repo = Path(__file__).resolve().parents[2]
        return (self.moderation_data_path or repo.parent / "shared" / "data" / "moderation" / "labeled_data.csv").resolve()

    @property
    def moderation_model_dir(self) -> Path:
        """Where the tier-2 classifier is loaded from (`MODERATION_MODEL_PATH`)."""
        return self.moderation_model_path or self.state_dir / "models" / "moderation-classifier"

    @property
    def model_cache_dir(self) -> Path:
        """Absolute `MODEL_CACHE_PATH`: models trained on this machine, for every stack home."""
        return self.model_cache_path.resolve()

    @property
    def state_dir(self) -> Path:
        """Absolute `.forgeline/` directory (state, logs, traces, mail)."""
        return self.forgeline_home.resolve()

    @property
    def image_model_dir(self) -> Path:
        """Where the image pipeline is loaded from (`IMAGE_MODEL_PATH`)."""
        return self.image_model_path or self.state_dir / "models" / "tiny-sd"

    @property
    def serve_base_url(self) -> str:
        """Ray Serve's HTTP proxy (`SERVE_URL`, else the local stack's port)."""
        return self.serve_url or f"http://127.0.0.1:{self.forgeline_serve_port}"


def _user_cache() -> Path:
    """The XDG cache directory."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment on first use."""
    return Settings()
