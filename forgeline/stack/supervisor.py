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
import secrets
import shutil
import stat
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forgeline.stack import procs
from forgeline.stack.components import (
    APPS,
    BACKING_WAVE,
    BROKER_WAVE,
    INFRA,
    KAFKA_BUCKET,
    LOCAL_S3_KEYS,
    PG_DB,
    PG_PASSWORD,
    PG_USER,
    PLATFORM_WAVE,
    RAY_WAVE,
    SERVICES,
    STANDIN_TOKEN,
    Component,
    build,
    is_loopback,
    needs_classifier,
    pg_bin,
)
from forgeline.stack.errors import PortTakenError, StackError
from forgeline.stack.health import probes
from services.common.settings import Endpoints, Settings
from services.gateway.drills import RUNS

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from services.gateway.tenants import Role

# Tansu on S3 stores each partition's part of a produce request as two objects (its watermark,
# then the batch), one partition after another: every partition a publish touches adds ~3 ms to
# its ack. The local stack runs one consumer per group, so more partitions would buy nothing.
EMBEDDED_BROKER_PARTITIONS = 1
DEMO_TENANT = "demo"
DEMO_CREDITS = 1000
OPS_TENANT = "ops"  # the local operator: an admin key for the console's System, Drills and Code review views

Progress = Callable[[str], None]


class StartAttemptError(Exception):
    """One start attempt of a part failed; the message is the cause, for the retry line or the error."""


class Stack:
    """Starts, checks and stops the local platform described by `settings`."""

    INFRA, APPS, SERVICES = INFRA, APPS, SERVICES  # the parts' names, also for callers with no settings

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        self.settings = settings
        self.home = settings.state_dir
        self.progress: Progress = progress or (lambda _msg: None)
        self.state_file = self.home / "stack.json"
        self.components: dict[str, Component] = build(settings)
        self._popen: dict[str, Any] = {}

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
            "IMAGEGEN_MODEL_PATH": str(s.image_model_dir),
            "MODERATION_MODEL_PATH": str(s.moderation_model_dir),
            "SMTP_HOST": smtp_host,
            "GITHUB_API_URL": c["github"].endpoint,
            "GITHUB_TOKEN": s.github.token or STANDIN_TOKEN,
            "GITHUB_WEBHOOK_SECRET": self.webhook_secret(),
            "SMTP_PORT": smtp_port,
            "FORGELINE_HOME": str(self.home),
            "AWS_ACCESS_KEY_ID": s.endpoints.aws_access_key_id or LOCAL_S3_KEYS[0],
            "AWS_SECRET_ACCESS_KEY": s.endpoints.aws_secret_access_key or LOCAL_S3_KEYS[1],
            "AWS_REGION": s.endpoints.aws_region,
            **{var: str(port) for comp in c.values() for var, port in comp.ports.items()},
            **({"LLM_BASE_URL": f"{c['llm-serve'].endpoint}/v1"} if self.llm_served() else {}),
        }

    def webhook_secret(self) -> str:
        """`GITHUB_WEBHOOK_SECRET`, else one generated for this stack home (kept, owner-only)."""
        if self.settings.github.webhook_secret:
            return self.settings.github.webhook_secret
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
        if name == "gateway":
            env["GATEWAY_PARTS"] = json.dumps(self.readiness_urls())
            env["GATEWAY_DRILLS_HOME"] = str(self.drills_home)
            # The endpoints of the stack's own parts, which up added: a runner inheriting them would
            # take those parts for outside ones (ports, home and paths it must keep).
            own = {k for k in self.endpoints_env() if k.lower() in Endpoints.model_fields and k not in os.environ}
            env["GATEWAY_DRILLS_ENV_UNSET"] = json.dumps(sorted(own))
        return env

    @property
    def drills_home(self) -> Path:
        """The drill catalogue and runs the console shows (services/gateway/drills.py's layout)."""
        return self.home / "drills"

    @property
    def drill_runs(self) -> Path:
        """One folder per drill run: its live journal, then its reports."""
        return self.drills_home / RUNS

    def readiness_urls(self) -> dict[str, str]:
        """What the console's System view reads: each service's /readyz and each Serve
        application's /healthz, for the parts this stack runs."""
        c = self.components
        apps = [a for a in self.APPS if a != "llm-serve" or self.llm_served()]
        services = [n for n in self.SERVICES if self.moderation_available() or not n.startswith("moderation-")]
        return {**{a: f"{c[a].endpoint}/healthz" for a in apps}, **{n: f"{c[n].endpoint}/readyz" for n in services}}

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
        return self.settings.faults or self.home / "faults"

    def log_path(self, name: str) -> Path:
        """Where a component's output goes."""
        return self.home / "logs" / f"{name}.log"

    def _record(self, state: dict[str, Any], name: str, *, pid: int | None, healthy: bool, attempt: int = 1) -> None:
        comp = self.components[name]
        parts = state.setdefault("components", {})
        now = time.time()
        parts[name] = {
            "endpoint": comp.endpoint,
            "pid": pid,
            "started_since_boot": procs.started_since_boot(pid) if pid else None,
            "log": None if comp.external else str(self.log_path(name)),
            "healthy": healthy,
            # Wall-clock times of this start, for people and benches (`started_since_boot` identifies it).
            "started_at": (parts.get(name) or {}).get("started_at", now) if healthy else now,
            "ready_at": now if healthy else None,
            "attempt": attempt if not healthy else (parts.get(name) or {}).get("attempt", attempt),
            "external": comp.external,
        }

    # ---- lifecycle ----------------------------------------------------------------------

    def up(self, only: tuple[str, ...] | None = None, prepare: bool = True) -> dict[str, Any]:
        """Start what is not running yet, wait until all is healthy, write stack.json.

        `prepare=False` creates the database and buckets only, and leaves migrations, topics
        and the demo tenant to `forgeline prepare` (a chart's prepare Job)."""
        return asyncio.run(self.up_async(only, prepare))

    async def up_async(self, only: tuple[str, ...] | None = None, prepare: bool = True) -> dict[str, Any]:
        """`up`, for callers that already run an event loop."""
        started = time.monotonic()
        for sub in ("logs", "tmp", "s3", "redis", "mail", "traces", "ray"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        state = self.load_state()
        state["home"] = str(self.home)
        state["faults_file"] = str(self.faults_file)
        from forgeline.drills.catalogue import write_catalogue  # here: the drills' schema imports this package

        write_catalogue(self.drills_home)  # the console's Drills view lists it
        names = [n for n in (*self.INFRA, *self.APPS, *self.SERVICES) if only is None or n in only]
        if not self.moderation_available() and any(needs_classifier(n) for n in names):
            self.progress(
                f"{'moderation':<9} off, and email with it (its toxicity guardrail is the classifier): no classifier at "
                f"{self.settings.moderation_model_dir} and no training data at {self.settings.moderation_training_data} "
                "(set MODERATION_DATA_PATH to Davidson's labeled_data.csv)"
            )
            names = [n for n in names if not needs_classifier(n)]
        if not self.llm_served():
            names = [n for n in names if n != "llm-serve"]
        self._check_ports(state, names)

        await self._start_wave(state, [n for n in names if self.components[n].wave == RAY_WAVE])
        # The Serve applications need only the Ray head: they deploy (one after another, each
        # starts Serve if needed) while everything else starts. The services call them per item.
        apps = [n for n in names if self.components[n].oneshot]
        rest = [n for n in names if n not in apps and self.components[n].wave != RAY_WAVE]
        await _all(self._start_apps(state, apps), self._start_platform(state, rest, prepare))
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
        return procs.alive(rec.get("pid"), rec.get("started_since_boot"))

    async def _start_platform(self, state: dict[str, Any], names: list[str], prepare: bool) -> None:
        """The waves after Ray's, with the data prepared before the services start."""

        def wave(number: int) -> list[str]:
            return [n for n in names if self.components[n].wave == number]

        await self._start_wave(state, wave(BACKING_WAVE))
        if "s3" in names:  # Tansu keeps topics in S3: its bucket must exist before it starts
            await asyncio.to_thread(self._ensure_buckets, (KAFKA_BUCKET, self.settings.endpoints.s3_bucket))
        await self._start_wave(state, wave(BROKER_WAVE))
        if prepare:
            await self._prepare_data(state)
        elif "postgres" in names:
            await self._ensure_database()
        await self._start_wave(state, wave(PLATFORM_WAVE))

    async def _start_apps(self, state: dict[str, Any], apps: list[str]) -> None:
        # One at a time: each deploy starts Serve if needed. Side by side they were no faster,
        # since the start-up already keeps both cores busy.
        for app in apps:
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
                await self._start_once(state, name, attempt)
                return
            except StartAttemptError as failure:
                if attempt == comp.attempts:
                    tries = f" (tried {attempt} times)" if attempt > 1 else ""
                    raise StackError(f"{failure}{tries}\n{self.tail(name, 15)}\n(full log: {self.log_path(name)})") from None
                self.progress(f"{name:<9} {failure}; retrying ({attempt + 1}/{comp.attempts})")
                await asyncio.to_thread(self._stop_attempt, name)

    async def _start_once(self, state: dict[str, Any], name: str, attempt: int) -> None:
        """Spawn one part and wait until it is healthy; raise StartAttemptError with the cause."""
        comp = self.components[name]
        self.progress(f"{name:<9} starting…")
        log = self.log_path(name)
        fatal_logs = [self.home / path for path in comp.fatal_logs]
        before = _ends([log, *fatal_logs])  # what this attempt writes comes after these
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
        self._record(state, name, pid=popen.pid, healthy=False, attempt=attempt)
        deadline = time.monotonic() + comp.start_timeout_s
        while time.monotonic() < deadline:
            self._check_needs(state, name)
            if cause := _marked_line(fatal_logs, before, comp.fatal_marks):
                raise StartAttemptError(f"{name} failed while starting: {cause}")
            if popen.poll() is not None and not (comp.oneshot and popen.returncode == 0):
                raise StartAttemptError(f"{name} exited with code {popen.returncode} while starting")
            if self._printed(log, before, comp.ready_line) and await self.check(name):
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
            if self.components[need].oneshot:
                continue  # it exits once deployed; a failed deploy reports itself
            rec = state.get("components", {}).get(need) or {}
            if rec.get("pid") and not procs.alive(rec["pid"], rec.get("started_since_boot")):
                rec["healthy"] = False
                raise StackError(
                    f"{need} died while {name} was starting.\n{self.tail(need, 15)}\n(full log: {self.log_path(need)})"
                )

    @staticmethod
    def _printed(log: Path, before: dict[Path, int], line: str | None) -> bool:
        """Whether the part wrote `line` to `log` since `before` (always, when there is no line to wait for)."""
        if line is None:
            return True
        written = _since(log, before)
        header_end = written.find("\n", 1)  # spawn's header line quotes the command, which may hold the line
        return header_end >= 0 and line in written[header_end:]

    def _stop_attempt(self, name: str) -> None:
        """Stop what a failed start left behind (its whole process group)."""
        popen = self._popen.pop(name, None)
        if popen is not None:
            procs.stop_tree(popen.pid, None, grace_s=10.0)
            popen.wait(timeout=10)

    def install_models(self, names: tuple[str, ...]) -> None:
        """Put the models these parts load into this home (from the machine's model cache, made
        there first if needed), as their first start would."""
        for name in names:
            self._prepare(name)

    def _prepare(self, name: str) -> None:
        """One-time set-up a component needs before its first start."""
        if name == "postgres":
            self._init_postgres()
        elif name == "imagegen-serve" and not (self.settings.image_model_dir / "model_index.json").exists():
            if self.settings.imagegen.model_path is not None:
                raise StackError(f"IMAGEGEN_MODEL_PATH={self.settings.imagegen.model_path} holds no diffusers pipeline")
            from services.imagegen.model import cached_tiny_sd

            cached, written = cached_tiny_sd(self.settings.model_cache_dir)
            if written:
                self.progress(f"{'models':<9} wrote the tiny test image model (its pictures are noise) to {cached}")
            shutil.copytree(cached, self.settings.image_model_dir, dirs_exist_ok=True)
        elif name == "moderation-serve":
            self._ensure_classifier()
        elif name.startswith("codereview-") and self.settings.codereview.llm_pass:
            from services.common.llm_local import smollm2_files

            # The agents count their prompts with SmolLM2's tokenizer: extract it once per
            # machine here, not in five agent processes at once.
            smollm2_files(self.settings.model_cache_dir)

    def llm_served(self) -> bool:
        """`LLM_BACKEND=openai` with no `LLM_BASE_URL`: the services ask the stack's own LLM application."""
        return self.settings.llm.backend == "openai" and not self.settings.endpoints.llm_base_url

    def moderation_available(self) -> bool:
        """A classifier exists, or can be trained from the data (the moderation tiers need one)."""
        from services.moderation.classifier import installed

        s = self.settings
        return installed(s.moderation_model_dir) or s.moderation_training_data.exists()

    def _ensure_classifier(self) -> None:
        """The tier-2 classifier in the model directory: from the machine's model cache, or
        trained into it on this machine's first start (`forgeline models classifier` does the same)."""
        from services.moderation.classifier import RECIPE, install, installed, tenths, training_options

        s = self.settings
        if installed(s.moderation_model_dir):
            return
        if s.moderation.model_path is not None:
            raise StackError(
                f"MODERATION_MODEL_PATH={s.moderation.model_path} holds no classifier of recipe {RECIPE}: "
                f"run `forgeline models classifier --path {s.moderation.model_path}`"
            )
        rows = f"{s.moderation.train_limit} rows" if s.moderation.train_limit else "all rows"
        self.progress(f"{'models':<9} moderation classifier ({rows}) from {s.model_cache_dir}, or trained there once …")
        card, trained = install(
            s.moderation_training_data,
            s.moderation_model_dir,
            s.model_cache_dir,
            **training_options(s),
            progress=tenths(lambda what, done, of: self.progress(f"{'models':<9} {what} {done}/{of}")),
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
            self._allow_postgres_clients(pgdata)
            return
        pgdata.mkdir(parents=True, exist_ok=True)
        pwfile.write_text(PG_PASSWORD + "\n")
        self._chown(pgdata)
        self._chown(pwfile)
        try:
            import subprocess

            subprocess.run(
                [
                    pg_bin("initdb"),
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
        self._allow_postgres_clients(pgdata)

    def _allow_postgres_clients(self, pgdata: Path) -> None:
        """initdb lets in loopback only; bound beyond it (a container's stack), every address
        may log in, with the password."""
        if is_loopback(self.settings.bind_host):
            return
        hba = pgdata / "pg_hba.conf"
        rule = "host all all all scram-sha-256"
        if rule not in hba.read_text():
            with hba.open("a") as out:
                out.write(f"# forgeline: listening on {self.settings.bind_host}\n{rule}\n")

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
        """Partitions of the topics `up` creates: KAFKA_TOPIC_PARTITIONS where set, else
        `EMBEDDED_BROKER_PARTITIONS` on the embedded broker, else (a Kafka of yours) the registry's."""
        if self.settings.kafka.topic_partitions is None and not self.components["kafka"].external:
            return EMBEDDED_BROKER_PARTITIONS
        return self.settings.kafka.topic_partitions

    def client_settings(self) -> Settings:
        """The settings with this stack's Kafka and Postgres endpoints: what its own clients use."""
        env = self.endpoints_env()
        endpoints = {"database_url": env["DATABASE_URL"], "kafka_bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"]}
        return self.settings.replace(endpoints=endpoints)

    async def _prepare_data(self, state: dict[str, Any]) -> None:
        """Buckets, database, migrations, topics and the demo tenant (all idempotent)."""
        from forgeline.stack.prepare import prepare_once

        if not self.components["postgres"].external:
            await self._ensure_database()
        partitions = self.topic_partitions()
        prepared = self.client_settings().replace(kafka={"topic_partitions": partitions})
        done = await prepare_once(prepared, check_only=False)
        applied, created = done["migrations"], done["topics"]
        if applied:
            self.progress(f"postgres  migrations applied: {', '.join(applied)}")
        if created:
            each = f"{partitions} partitions each" if partitions else "partitions as in services/common/topics.py"
            self.progress(f"kafka     topics created: {len(created)} ({each})")
        state["demo_tenant"] = await self._ensure_tenant(state.get("demo_tenant"), DEMO_TENANT, DEMO_CREDITS, "tenant")
        state["ops_tenant"] = await self._ensure_tenant(state.get("ops_tenant"), OPS_TENANT, 0, "admin")
        self._save_state(state)

    def s3_client(self, retries: int | None = None) -> S3Client:
        """A boto3 client on the stack's S3 server, with the keys its services use."""
        from services.common.clients import create_s3

        env = self.endpoints_env()
        endpoints = {
            "s3_endpoint_url": env["S3_ENDPOINT_URL"],
            "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        }
        client = {} if retries is None else {"retries": retries}
        return create_s3(self.settings.replace(endpoints=endpoints, client=client))

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
            host="127.0.0.1", port=s.local.postgres_port, user=PG_USER, password=PG_PASSWORD, database="postgres"
        )
        try:
            if not await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", PG_DB):
                await conn.execute(f'CREATE DATABASE "{PG_DB}"')
        finally:
            await conn.close()

    async def _ensure_tenant(self, known: dict[str, str] | None, name: str, credits: int, role: Role) -> dict[str, str]:
        """The stack's own tenant `name` and a key that works (the recorded one, else a new one)."""
        import asyncpg

        from services.gateway.tenants import create_tenant, hash_api_key, rotate_api_key

        conn = await asyncpg.connect(self.endpoints_env()["DATABASE_URL"])
        try:
            if known and await conn.fetchval("SELECT true FROM tenants WHERE api_key_hash = $1", hash_api_key(known["api_key"])):
                return known
            key = await rotate_api_key(conn, name)
            if key is None:
                _, key = await create_tenant(conn, name, credits, role=role)
            return {"name": name, "api_key": key}
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
            # A part whose own process died may have left children in its group (a `ray start`
            # that gave up leaves its GCS server): those are stopped too.
            if procs.alive(rec["pid"], rec.get("started_since_boot")) or procs.orphans(rec["pid"]):
                self.progress(f"{name:<9} stopping (pid {rec['pid']})")
                procs.stop_tree(rec["pid"], rec.get("started_since_boot"), grace_s=15.0 if name == "ray" else 10.0)
                stopped.append(name)
            popen = self._popen.pop(name, None)
            if popen is not None:
                popen.wait(timeout=5)
            rec.update(pid=None, healthy=False, started_since_boot=None)
        self._save_state(state)
        return stopped

    def kill(self, name: str, sig: int) -> None:
        """Signal one component's whole process tree (drills and tests)."""
        rec = self.load_state()["components"][name]
        procs.stop_tree(rec["pid"], rec.get("started_since_boot"), grace_s=10.0, sig=sig)
        popen = self._popen.pop(name, None)
        if popen is not None:
            popen.wait(timeout=10)

    async def restart(self, name: str) -> None:
        """Start one component again after it died (drills and tests). A Ray head started again
        holds no Serve applications, so they are deployed again too."""
        state = self.load_state()
        await self._ensure(state, name)
        if name == "ray":
            for app in self.APPS:
                await self._ensure(state, app)
        self._save_state(state)

    async def undeploy(self, app: str) -> None:
        """Remove a Serve application from the Ray head (drills: a deployment down); `restart`
        deploys it again."""
        comp = self.components[app]
        if app not in self.APPS or comp.external:
            raise StackError(f"{app} is not a Serve application this stack deploys")
        done = await asyncio.to_thread(
            subprocess.run, [*comp.argv, "--delete"], env=self.service_env(app), capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise StackError(f"could not delete {app}: {done.stderr.strip()[-300:]}")
        state = self.load_state()
        state["components"][app]["healthy"] = False
        self._save_state(state)

    # ---- health -------------------------------------------------------------------------

    async def check(self, name: str) -> bool:
        """A real protocol-level health check of one component."""
        try:
            return await asyncio.wait_for(probes(self)[name](), timeout=10.0)
        except Exception:
            return False

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
                rec["running"] = rec.get("external") or procs.alive(rec.get("pid"), rec.get("started_since_boot"))
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


def _ends(paths: list[Path]) -> dict[Path, int]:
    """Where each existing file ends now, by its real path: a link that later points to a new
    file (Ray's `session_latest`) makes that file read from its start."""
    return {path.resolve(): path.stat().st_size for path in paths if path.exists()}


def _since(path: Path, before: dict[Path, int]) -> str:
    """What was written to `path` after `before` was taken."""
    real = path.resolve()
    if not real.exists():
        return ""
    with real.open("rb") as f:
        f.seek(before.get(real, 0))
        return f.read().decode(errors="replace")


def _marked_line(paths: list[Path], before: dict[Path, int], marks: tuple[str, ...]) -> str | None:
    """The first line written to any of `paths` since `before` that holds one of `marks`."""
    for path in paths:
        for line in _since(path, before).splitlines():
            if any(mark in line for mark in marks):
                return line.strip()
    return None


async def _all(*steps: Awaitable[None]) -> None:
    """Await every step (one failing cuts none of the others short), then raise the first error."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    if errors := [r for r in results if isinstance(r, BaseException)]:
        raise errors[0]
