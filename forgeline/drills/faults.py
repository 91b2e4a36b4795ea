"""Striking a fault and undoing it. Each strike registers its rollback before it acts, so an
interrupted drill still restarts what it stopped, clears the fault flags it set and removes
its firewall rules."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psutil
from forgeline_api_client.api.images import cancel_image

from forgeline.drills.probes import Reader
from forgeline.drills.schema import Fault
from forgeline.stack import Stack, procs
from forgeline.standins.github import QueuedFailure
from forgeline.tools.interrupts import interrupts_deferred

Rollback = Callable[[], Awaitable[str]]
InFlight = Callable[[], Awaitable[dict[str, int]]]  # what the drill's load has in flight now

STRUCK = ("kill", "freeze", "restart", "flag", "partition", "standin", "poison", "cancel_images", "dlq_replay")
# A Serve part's own process only deploys its application; killing "the part" means killing
# one replica of the application's model deployment, which Serve's controller replaces.
SERVE_APPS = {"imagegen-serve": "imagegen", "moderation-serve": "moderation", "llm-serve": "llm"}
POISON_HEADER = "x-forgeline-drill"  # marks a drill's poison records; the DLQ keeps original headers


class NotStruckError(Exception):
    """The fault could not take effect (a crash flag whose step never ran): the drill is
    inconclusive, with this reason."""


class CannotStrikeError(Exception):
    """iptables refused a rule mid-drill: the drill is aborted with its message (a machine without
    iptables is found before the drill starts, and the drill is skipped)."""


def partition_port(stack: Stack, part: str) -> int:
    """The TCP port a part listens on (from its endpoint: `http://host:port` or `host:port`)."""
    endpoint = stack.components[part].endpoint
    port = urlsplit(endpoint if "//" in endpoint else f"tcp://{endpoint}").port
    if port is None:
        raise ValueError(f"{part} has no port in its endpoint {endpoint!r}")
    return port


def firewall_rule(port: int, mode: str) -> list[str]:
    """The iptables rule (without -I/-D) that cuts local TCP traffic to `port`."""
    target = ["REJECT", "--reject-with", "tcp-reset"] if mode == "reject" else ["DROP"]
    return ["OUTPUT", "-o", "lo", "-p", "tcp", "--dport", str(port), "-j", *target]


def can_partition() -> str | None:
    """Why this machine cannot cut a port off (None: it can)."""
    if shutil.which("iptables") is None:
        return "iptables is not installed (`make host-tools` installs it, as root)"
    probe = subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"iptables cannot change rules here: {probe.stderr.strip()[:200]}"
    return None


ROLLING_BACK = "rolling back first: restarting what the drill stopped, clearing flags and firewall rules"


@dataclass
class Striker:
    """Strikes faults on a running stack and keeps what undoes them."""

    stack: Stack
    reader: Reader
    tenant_id: str
    run_id: str
    rollbacks: list[tuple[str, Rollback]] = field(default_factory=list)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    poisoned: dict[str, list[str]] = field(default_factory=dict)  # topic -> keys of the poison sent
    cancelled: list[str] = field(default_factory=list)  # image jobs the drill cancelled
    replayed: list[str] = field(default_factory=list)  # topics whose dead letters it replayed

    async def strike(self, fault: Fault, in_flight: InFlight) -> tuple[float, str, dict[str, int] | None]:
        """Act; return when (time.monotonic) the fault's own effect is over (restarts done,
        flags cleared, rules removed), which the caller takes as the end of the fault window,
        what it did, and what was in flight when it took effect if that came later than the
        strike (a crash flag: read as its part dies)."""
        did = ""
        if fault.kill and fault.kill.part in SERVE_APPS:
            did = await self._kill_replica(SERVE_APPS[fault.kill.part], getattr(signal, fault.kill.signal))
        elif fault.kill:
            kill = fault.kill
            self._undo(f"start {kill.part} if it is down", lambda: self._ensure_running(kill.part))
            await asyncio.to_thread(self.stack.kill, kill.part, getattr(signal, kill.signal))
            if kill.restart_after_s is not None:
                await asyncio.sleep(kill.restart_after_s)
                await self.stack.restart(kill.part)
        elif fault.restart:
            part = fault.restart.part
            self._undo(f"start {part} if it is down", lambda: self._ensure_running(part))
            if part in SERVE_APPS:
                await self.stack.undeploy(part)
            else:
                await asyncio.to_thread(self.stack.kill, part, signal.SIGTERM)
            await asyncio.sleep(fault.restart.down_s)
            await self.stack.restart(part)
        elif fault.freeze:
            freeze = fault.freeze
            self._undo(f"continue {freeze.part}", lambda: self._signal_tree(freeze.part, signal.SIGCONT))
            await self._signal_tree(freeze.part, signal.SIGSTOP)
            await asyncio.sleep(freeze.seconds)
            await self._signal_tree(freeze.part, signal.SIGCONT)
        elif fault.flag:
            rules = fault.flag.rules
            self._undo(f"clear {len(rules)} fault flag(s)", lambda: self._clear_flags(rules))
            if fault.flag.restart is not None:
                flight = await self._crash(fault.flag.restart, rules, fault.flag.seconds or 120.0, in_flight)
                return time.monotonic(), f"{fault.flag.restart} crashed on its flag and was started again", flight
            with self.stack.faults_file.open("a") as f:
                f.write("".join(f"{rule}\n" for rule in rules))
            if fault.flag.seconds is not None:
                self._later(fault.flag.seconds, lambda: self._clear_flags(rules))
                return time.monotonic() + fault.flag.seconds, did, None
        elif fault.partition:
            cut = fault.partition
            port = partition_port(self.stack, cut.part)
            rule = firewall_rule(port, cut.mode)
            self._undo(f"remove the firewall rule on {cut.part}", lambda: self._unblock(rule))
            await self._iptables("-I", rule)
            await asyncio.sleep(cut.seconds)
            await self._unblock(rule)
            did = f"{cut.mode} on port {port} for {cut.seconds:g}s"
        elif fault.standin:
            did = await self._standin_failures(fault.standin.github_status, fault.standin.count, fault.standin.retry_after_s)
        elif fault.poison:
            did = await self._poison(fault.poison.topic, fault.poison.count)
        elif fault.cancel_images:
            did = await self._cancel_images(fault.cancel_images.count)
        elif fault.dlq_replay:
            did = await self._replay(fault.dlq_replay.topic)
        else:
            raise ValueError(f"fault {fault.name!r}: no strike for {fault.kind!r} (STRUCK and the schema's kinds differ)")
        return time.monotonic(), did, None

    def _undo(self, what: str, action: Rollback) -> None:
        self.rollbacks.append((what, action))

    def _later(self, delay_s: float, action: Rollback) -> None:
        async def run() -> None:
            await asyncio.sleep(delay_s)
            await action()

        task = asyncio.create_task(run())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def roll_back(self) -> list[dict[str, str]]:
        """Undo everything struck, newest first; every rollback runs even when one fails, and
        through more Ctrl-Cs: asyncio.run turns the second one into a KeyboardInterrupt, which
        would stop the rollbacks half done, so SIGINT only says to wait until they are."""
        with interrupts_deferred(ROLLING_BACK):
            return await self._undo_all()

    async def _undo_all(self) -> list[dict[str, str]]:
        for task in list(self.background):
            task.cancel()
        done = []
        for what, action in reversed(self.rollbacks):
            try:
                done.append({"rollback": what, "outcome": await action()})
            except Exception as error:  # keep undoing the rest
                done.append({"rollback": what, "outcome": f"failed: {type(error).__name__}: {error}"})
        self.rollbacks.clear()
        return done

    async def _ensure_running(self, part: str) -> str:
        rec = self.stack.load_state()["components"].get(part) or {}
        if procs.alive(rec.get("pid"), rec.get("started_since_boot")):
            await self._signal_tree(part, signal.SIGCONT)
            return "running"
        await self.stack.restart(part)
        return "restarted"

    async def _signal_tree(self, part: str, sig: int) -> str:
        rec = self.stack.load_state()["components"][part]
        if not procs.alive(rec.get("pid"), rec.get("started_since_boot")):
            return "not running"
        root = psutil.Process(rec["pid"])
        for proc in [root, *root.children(recursive=True)]:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                continue
        return "signalled"

    async def _crash(self, part: str, rules: list[str], within_s: float, in_flight: InFlight) -> dict[str, int]:
        """Set crash rules, wait for `part`'s process to die on one (no sleep guessing when), read
        what was in flight then, clear the rules and start the part again."""
        self._undo(f"start {part} if it is down", lambda: self._ensure_running(part))
        rec = self.stack.load_state()["components"][part]
        with self.stack.faults_file.open("a") as f:
            f.write("".join(f"{rule}\n" for rule in rules))
        deadline = time.monotonic() + within_s
        while procs.alive(rec.get("pid"), rec.get("started_since_boot")):
            if time.monotonic() > deadline:
                await self._clear_flags(rules)
                raise NotStruckError(f"{part} did not crash within {within_s:g}s (its flagged step never ran)")
            await asyncio.sleep(0.2)
        flight = await in_flight()
        await self._clear_flags(rules)
        await self.stack.restart(part)
        return flight

    async def _clear_flags(self, rules: list[str]) -> str:
        if not self.stack.faults_file.exists():
            return "no flags"
        kept = [line for line in self.stack.faults_file.read_text().splitlines() if line.strip() not in rules]
        self.stack.faults_file.write_text("".join(f"{line}\n" for line in kept))
        return "cleared"

    async def _iptables(self, action: str, rule: list[str]) -> None:
        result = await asyncio.to_thread(subprocess.run, ["iptables", action, *rule], capture_output=True, text=True)
        if result.returncode != 0:
            raise CannotStrikeError(f"iptables {action} failed: {result.stderr.strip()[:200]}")

    async def _unblock(self, rule: list[str]) -> str:
        removed = 0
        # -D removes one copy per call; a rule inserted twice (a retried strike) needs two.
        while (await asyncio.to_thread(subprocess.run, ["iptables", "-D", *rule], capture_output=True)).returncode == 0:
            removed += 1
        return f"removed {removed} rule(s)" if removed else "no rule left"

    async def _standin_failures(self, status: int, count: int, retry_after_s: int) -> str:
        self._undo("clear the GitHub stand-in's failures not answered yet", self._clear_standin)
        await self.reader.github.fail_next(*(QueuedFailure(status=status, retry_after_s=retry_after_s) for _ in range(count)))
        limit = f" (a rate limit, Retry-After {retry_after_s}s)" if status == 403 else ""
        return f"the GitHub stand-in answers {status}{limit} to the next {count} calls"

    async def _clear_standin(self) -> str:
        return f"cleared {await self.reader.github.clear_failures()}"

    async def _poison(self, topic: str, count: int) -> str:
        from aiokafka import AIOKafkaProducer

        from services.common.broker import kafka_client_options

        producer = AIOKafkaProducer(**kafka_client_options(self.reader.settings), acks="all")
        await producer.start()
        keys = [f"poison-{self.run_id}-{topic}-{i}" for i in range(count)]
        try:
            for key in keys:
                # Not JSON at all: the contract cannot decode it, so it is a permanent error.
                await producer.send_and_wait(
                    topic, b"\xffpoison " + key.encode(), key=key.encode(), headers=[(POISON_HEADER, self.run_id.encode())]
                )
        finally:
            await producer.stop()
        self.poisoned.setdefault(topic, []).extend(keys)
        return f"{count} undecodable record(s) on {topic}"

    async def _cancel_images(self, count: int) -> str:
        rows = await self.reader.db.fetch(
            """
            SELECT j.job_id FROM image_jobs j JOIN credit_ledger l ON l.job_id = j.job_id AND l.delta < 0
            WHERE j.tenant_id = $1 AND j.status = 'running' ORDER BY j.started_at LIMIT $2
            """,
            uuid.UUID(self.tenant_id),
            count,
        )
        answers = []
        for row in rows:
            response = await cancel_image.asyncio_detailed(row["job_id"], client=self.reader.api)
            answers.append(int(response.status_code))
            if response.status_code == 202:
                self.cancelled.append(str(row["job_id"]))
        return f"cancelled {len(self.cancelled)} charged running job(s) (answers {answers})"

    async def _replay(self, topic: str) -> str:
        from services.common.dlq import replay_dead_letters
        from services.common.topics import spec_for

        letters = await replay_dead_letters(self.reader.settings, spec_for(topic))
        self.replayed.append(topic)
        return f"replayed {len(letters)} dead letter(s) of {topic}"

    async def _kill_replica(self, app: str, sig: int) -> str:
        """Signal one replica of `app` among the Ray head's own processes (never another stack's)."""
        rec = self.stack.load_state()["components"]["ray"]
        if not procs.alive(rec.get("pid"), rec.get("started_since_boot")):
            raise CannotStrikeError("the Ray head is not running")
        replicas = []
        for proc in psutil.Process(rec["pid"]).children(recursive=True):
            try:
                title = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if title.startswith(f"ray::ServeReplica:{app}:") and "Ingress" not in title:
                replicas.append((proc, title.split()[0]))
        if not replicas:
            raise CannotStrikeError(f"no replica of the Serve application {app!r} runs under this stack's Ray head")
        proc, title = replicas[0]
        proc.send_signal(sig)
        return f"signalled {title} (pid {proc.pid}), 1 of {len(replicas)} replica(s); Serve replaces it"
