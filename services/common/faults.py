"""Fault flags: make a named step fail, slow down or crash on purpose (tests and drills).

The file named by `FORGELINE_FAULTS` is re-read whenever it changes. One rule a line:

    imagegen.generate: fail 100%
    imagegen.generate: fail 2x        # the first 2 calls per subject fail, later ones pass
    email.smtp: delay 2s
    echo.after_effect: crash match=msg-15
    imagegen.refund: skip             # a planted defect: the step silently does nothing
    # comments and blank lines are ignored

`match=TEXT` limits a rule to calls whose subject contains TEXT. `fail Nx` counts calls in
this process, per subject (a restarted process starts counting again).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_RULE = re.compile(
    r"^(?P<step>[\w.\-]+)\s*:\s*(?P<action>fail|delay|crash|skip)"
    r"(?:\s+(?P<amount>\d+(?:\.\d+)?)(?P<unit>%|s|ms|x))?"
    r"(?:\s+match=(?P<match>\S+))?\s*$"
)


_SYNTAX = "STEP: fail N% | fail Nx | delay Ns | crash | skip [match=TEXT]"


class InjectedFaultError(RuntimeError):
    """Raised by a step whose fault flag says `fail`. Retryable, like any transient error."""


@dataclass(frozen=True)
class FaultRule:
    """One parsed rule of the fault-flag file."""

    step: str
    action: Literal["fail", "delay", "crash", "skip"]
    percent: float = 100.0
    times: int | None = None  # `fail Nx`: only the first N calls per subject
    delay_s: float = 0.0
    match: str | None = None

    def applies(self, subject: str) -> bool:
        """Whether this rule applies to a call with this subject."""
        return self.match is None or self.match in subject


def parse_rules(text: str) -> dict[str, list[FaultRule]]:
    """Parse fault-flag text; raise ValueError naming the bad line."""
    rules: dict[str, list[FaultRule]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _RULE.match(line)
        if m is None:
            raise ValueError(f"fault flags line {number} {raw!r} is not '{_SYNTAX}'")
        action = m["action"]
        amount = float(m["amount"]) if m["amount"] else None
        unit = m["unit"]
        if action == "delay":
            if amount is None or unit not in ("s", "ms"):
                raise ValueError(f"fault flags line {number}: delay needs a duration such as 2s or 300ms")
            rule = FaultRule(m["step"], "delay", delay_s=amount / 1000 if unit == "ms" else amount, match=m["match"])
        elif action == "fail":
            if amount is not None and unit not in ("%", "x"):
                raise ValueError(f"fault flags line {number}: fail takes a percentage such as 30% or a count such as 2x")
            if unit == "x":
                rule = FaultRule(m["step"], "fail", times=int(amount or 0), match=m["match"])
            else:
                rule = FaultRule(m["step"], "fail", percent=100.0 if amount is None else amount, match=m["match"])
        else:
            rule = FaultRule(m["step"], "crash" if action == "crash" else "skip", match=m["match"])
        rules.setdefault(rule.step, []).append(rule)
    return rules


class FaultFlags:
    """Reads the fault-flag file (re-read when its mtime changes) and applies it to steps."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._mtime: float | None = None
        self._rules: dict[str, list[FaultRule]] = {}
        self._calls: dict[tuple[FaultRule, str], int] = {}

    def rules_for(self, step: str) -> list[FaultRule]:
        """The current rules for a step (re-reading the file if it changed)."""
        if self._path is None:
            return []
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            self._mtime, self._rules = None, {}
            return []
        if mtime != self._mtime:
            self._rules = parse_rules(self._path.read_text())
            self._mtime = mtime
        return self._rules.get(step, [])

    async def check(self, step: str, subject: str = "") -> None:
        """Apply the step's rules: sleep, raise `InjectedFaultError`, or SIGKILL this process."""
        for rule in self.rules_for(step):
            if not rule.applies(subject):
                continue
            if rule.action == "delay":
                await asyncio.sleep(rule.delay_s)
            elif rule.action == "fail" and rule.times is not None:
                seen = self._calls.get((rule, subject), 0)
                self._calls[(rule, subject)] = seen + 1
                if seen < rule.times:
                    raise InjectedFaultError(f"fault flag: {step} fails (call {seen + 1} of the first {rule.times})")
            elif rule.action == "fail" and random.uniform(0, 100) < rule.percent:
                raise InjectedFaultError(f"fault flag: {step} fails ({rule.percent:g}%)")
            elif rule.action == "crash":
                os.kill(os.getpid(), signal.SIGKILL)

    def skips(self, step: str, subject: str = "") -> bool:
        """Whether a `skip` rule makes the step silently do nothing: a planted defect, which a
        drill's invariants must catch (`imagegen.refund: skip` keeps a failed job's credits)."""
        return any(rule.action == "skip" and rule.applies(subject) for rule in self.rules_for(step))


_flags: FaultFlags | None = None


def faults() -> FaultFlags:
    """The process-wide fault flags, reading the file named in settings."""
    global _flags
    if _flags is None:
        from services.common.settings import get_settings

        _flags = FaultFlags(get_settings().faults)
    return _flags
