"""Starting and stopping the processes the supervisor owns, by PID and process group only."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on host:port (we try to bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def spawn(
    argv: list[str], log: Path, env: dict[str, str], cwd: Path | None = None, user: int | None = None, group: int | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in its own session (its own process group), output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        command = " ".join(argv).replace("\n", "\\n")  # one line, so the output after it is the part's own
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} start: {command}\n".encode())
        out.flush()
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
            user=user,
            group=group,
        )


def create_time(pid: int) -> float | None:
    """A process's start time (to tell it from a later process that reused its PID)."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def alive(pid: int | None, started: float | None) -> bool:
    """Whether the process we started (same PID and start time) still runs."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if started is not None and abs(proc.create_time() - started) > 1.0:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _processes(*pids: int) -> list[psutil.Process]:
    out = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            out.append(psutil.Process(pid))
    return out


def _living(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.Error:
            continue
    return out


def stop_tree(pid: int, started: float | None, grace_s: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started, its process group and every descendant (even ones that
    moved to their own session, like Ray workers): `sig` first, SIGKILL after `grace_s`.
    When the process itself is gone, what is left of its process group is stopped
    (a `ray start` that gave up leaves its GCS server behind)."""
    if not alive(pid, started):
        tree = orphans(pid)
        if not tree:
            return
    else:
        root = psutil.Process(pid)
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = [root]
    _signal_group(pid, tree, sig)
    if _wait_gone(tree, grace_s):
        return
    _signal_group(pid, tree, signal.SIGKILL)
    _wait_gone(tree, 5.0)


def orphans(pgid: int) -> list[psutil.Process]:
    """Living members of the process group of a leader that has exited. Linux never hands out a
    PID that still names a process group, so while members are left the group is the one we made."""
    if _living(_processes(pgid)):
        return []  # the leader lives (or its PID is another process's now): not orphans of ours
    members = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
    return _living(members)


def _wait_gone(tree: list[psutil.Process], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _living(tree):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _signal_group(pid: int, tree: list[psutil.Process], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    _signal_each(pid, tree, sig)


def _signal_each(pid: int, tree: list[psutil.Process], sig: int) -> None:
    for proc in _living(tree):
        try:
            proc.send_signal(sig)
        except psutil.Error:
            continue
