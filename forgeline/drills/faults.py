"""Striking a fault and undoing it. Each strike registers its rollback before it acts, so an
interrupted drill still restarts what it stopped and clears the fault flags it set."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from forgeline.drills.schema import Fault
from forgeline.stack import Stack, procs

Rollback = Callable[[], Awaitable[str]]


STRUCK = ("kill", "freeze", "restart", "flag")  # the fault kinds it can strike


@dataclass
class Striker:
    """Strikes faults on a running stack and keeps what undoes them."""

    stack: Stack
    faults_file: Path
    rollbacks: list[tuple[str, Rollback]] = field(default_factory=list)
    background: set[asyncio.Task[None]] = field(default_factory=set)

    async def strike(self, fault: Fault) -> float:
        """Act; return when (time.monotonic) the fault's own effect is over: restarts done,
        flags cleared. The caller takes it as the end of the fault window."""
        if fault.kill:
            kill = fault.kill
            self._undo(f"start {kill.part} if it is down", lambda: self._ensure_running(kill.part))
            await asyncio.to_thread(self.stack.kill, kill.part, getattr(signal, kill.signal))
            if kill.restart_after_s is not None:
                await asyncio.sleep(kill.restart_after_s)
                await self.stack.restart(kill.part)
        elif fault.restart:
            part = fault.restart.part
            self._undo(f"start {part} if it is down", lambda: self._ensure_running(part))
            await asyncio.to_thread(self.stack.kill, part, signal.SIGTERM)
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
            with self.faults_file.open("a") as f:
                f.write("".join(f"{rule}\n" for rule in rules))
            if fault.flag.seconds is not None:
                self._later(fault.flag.seconds, lambda: self._clear_flags(rules))
                return time.monotonic() + fault.flag.seconds
        else:
            raise ValueError(f"fault {fault.name!r}: cannot strike {fault.kind!r} (the runner checks STRUCK first)")
        return time.monotonic()

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
        """Undo everything struck, newest first; every rollback runs even when one fails."""
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

    async def _clear_flags(self, rules: list[str]) -> str:
        if not self.faults_file.exists():
            return "no flags"
        kept = [line for line in self.faults_file.read_text().splitlines() if line.strip() not in rules]
        self.faults_file.write_text("".join(f"{line}\n" for line in kept))
        return "cleared"
