"""Starting and stopping the processes the supervisor owns, by PID and process group only."""

from __future__ import annotations

import contextlib
import errno
import functools
import operator
import os
import signal
import socket
import stat
import struct
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


def started_since_boot(pid: int) -> float | None:
    """When a process started, in seconds after boot (to tell it from a later process that reused
    its PID). Counted from boot, not the wall clock: psutil's `create_time` is boot time + this,
    and the boot time it derives moves whenever the wall clock is stepped (seen here: a 67 s step
    made every part of a running stack look dead, so `down` left them all running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat[stat.rindex(")") + 2 :].split()[19])  # field 22, starttime
        return ticks / os.sysconf("SC_CLK_TCK")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, IndexError):  # no procfs: the wall-clock estimate
        try:
            return psutil.Process(pid).create_time() - psutil.boot_time()
        except psutil.Error:
            return None


def alive(pid: int | None, started: float | None) -> bool:
    """Whether the process we started (same PID and `started_since_boot`) still runs."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        now = started_since_boot(pid)
        if started is not None and (now is None or abs(now - started) > 0.5):
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


# POSIX ACL xattr layout (linux/posix_acl_xattr.h): a version, then (tag, perm, id) entries sorted by tag and id.
_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
_SEARCH = 1


def reachable_for(path: Path, uid: int, gid: int) -> list[Path]:
    """Let an unprivileged user reach `path`: every ancestor directory it cannot pass through gets
    a POSIX ACL entry granting that user search (x) alone: no listing, and nobody else gains
    anything (a clone under a 0700 home stays private). Returns the directories changed."""
    changed = []
    for directory in reversed(path.resolve().parents):
        info = directory.stat()
        if info.st_uid == uid or (info.st_gid == gid and info.st_mode & stat.S_IXGRP) or info.st_mode & stat.S_IXOTH:
            continue
        entries = _acl_entries(directory)
        if entries.get((_USER, uid), 0) & entries.get((_MASK, _NO_ID), 0) & _SEARCH:
            continue  # granted before
        entries[(_USER, uid)] = entries.get((_USER, uid), 0) | _SEARCH
        # The mask bounds the whole group class (named users, the owning group, named groups).
        group_class = (perm for (tag, _), perm in entries.items() if tag in (_USER, _GROUP_OBJ, _GROUP))
        entries[(_MASK, _NO_ID)] = functools.reduce(operator.or_, group_class, 0)
        packed = b"".join(struct.pack("<HHI", tag, perm, ident) for (tag, ident), perm in sorted(entries.items()))
        os.setxattr(directory, _ACL_XATTR, struct.pack("<I", _ACL_VERSION) + packed)
        changed.append(directory)
    return changed


def _acl_entries(directory: Path) -> dict[tuple[int, int], int]:
    """A directory's access ACL as {(tag, id): perm}; with none set, the three its mode implies."""
    try:
        raw = os.getxattr(directory, _ACL_XATTR)
    except OSError as error:
        if error.errno != errno.ENODATA:
            raise
        mode = directory.stat().st_mode
        return {(_USER_OBJ, _NO_ID): (mode >> 6) & 7, (_GROUP_OBJ, _NO_ID): (mode >> 3) & 7, (_OTHER, _NO_ID): mode & 7}
    return {(tag, ident): perm for tag, perm, ident in struct.iter_unpack("<HHI", raw[4:])}
