"""How the supervisor starts one part: retries, the cause of a failed start, what a failed
start leaves behind. Real child processes, no stack (each test builds one part)."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from forgeline.stack import Stack, StackError, isolated_settings, procs
from forgeline.stack.supervisor import _ends, _marked_line

pytestmark = pytest.mark.integration

# Fails its first start (as a raylet that times out would), comes up on the second.
FLAKY = textwrap.dedent(
    """
    import pathlib, sys, time
    marker = pathlib.Path(sys.argv[1])
    if not marker.exists():
        marker.write_text("tried")
        sys.exit(3)
    print("part is up", flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[tuple[Stack, list[str]]]:
    """A stack with no part started; whatever a test starts is stopped afterwards."""
    said: list[str] = []
    stack = Stack(isolated_settings(tmp_path), progress=said.append)
    yield stack, said
    for popen in list(stack._popen.values()):
        procs.stop_tree(popen.pid, None, grace_s=2)


def _part(stack: Stack, name: str, argv: list[str], attempts: int, ready_line: str | None = None) -> None:
    comp = stack.components[name]
    comp.argv, comp.attempts, comp.ready_line, comp.start_timeout_s, comp.needs = argv, attempts, ready_line, 20.0, ()


async def _always_healthy(name: str) -> bool:
    return True


async def test_a_part_that_fails_to_start_is_retried_and_the_retry_is_said(
    bare: tuple[Stack, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, said = bare
    _part(stack, "smtp", [sys.executable, "-c", FLAKY, str(tmp_path / "tried")], attempts=2, ready_line="part is up")
    monkeypatch.setattr(stack, "check", _always_healthy)
    state: dict[str, dict[str, dict[str, object]]] = {"components": {}}
    await stack._ensure(state, "smtp")
    rec = state["components"]["smtp"]
    assert rec["healthy"] and procs.alive(rec["pid"], rec["started_since_boot"])  # type: ignore[arg-type]
    assert rec["attempt"] == 2
    assert any(line.endswith("smtp exited with code 3 while starting; retrying (2/2)") for line in said), said
    assert stack.log_path("smtp").read_text().count("start: ") == 2


async def test_the_last_failed_attempt_is_an_error_with_the_cause_and_the_log(
    bare: tuple[Stack, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, _ = bare
    argv = [sys.executable, "-c", "print('no config here'); raise SystemExit(5)"]
    _part(stack, "smtp", argv, attempts=2, ready_line="never printed")
    monkeypatch.setattr(stack, "check", _always_healthy)
    with pytest.raises(StackError) as err:
        await stack._ensure({"components": {}}, "smtp")
    message = str(err.value)
    assert "smtp exited with code 5 while starting (tried 2 times)" in message
    assert "no config here" in message and str(stack.log_path("smtp")) in message


async def test_a_part_is_not_ready_before_it_prints_its_ready_line(
    bare: tuple[Stack, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray's health check passes on the GCS alone; readiness waits for `ray start`'s own line."""
    stack, _ = bare
    script = "import time; time.sleep(1); print('Ray runtime started.', flush=True); time.sleep(60)"
    _part(stack, "smtp", [sys.executable, "-c", script], attempts=1, ready_line="Ray runtime started.")
    monkeypatch.setattr(stack, "check", _always_healthy)
    state: dict[str, dict[str, dict[str, object]]] = {"components": {}}
    await stack._ensure(state, "smtp")
    assert "Ray runtime started." in stack.log_path("smtp").read_text()  # it waited for the line


async def test_a_needed_part_that_dies_meanwhile_is_named_as_the_cause(
    bare: tuple[Stack, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, _ = bare
    died = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(died.stdout)
    stack.log_path("ray").parent.mkdir(parents=True, exist_ok=True)
    stack.log_path("ray").write_text("raylet: Check failed: Timed out waiting for file metrics_agent_port\n")
    _part(stack, "imagegen-serve", [sys.executable, "-c", "import time; time.sleep(60)"], attempts=1)
    stack.components["imagegen-serve"].needs = ("ray",)

    async def never(name: str) -> bool:
        return False

    monkeypatch.setattr(stack, "check", never)
    state: dict[str, dict[str, dict[str, object]]] = {"components": {"ray": {"pid": dead_pid, "started_since_boot": None}}}
    with pytest.raises(StackError) as err:
        await stack._ensure(state, "imagegen-serve")
    assert str(err.value).startswith("ray died while imagegen-serve was starting")
    assert "metrics_agent_port" in str(err.value)


def test_the_raylet_cause_is_read_from_the_new_session_only(tmp_path: Path) -> None:
    ray = Stack(isolated_settings(tmp_path)).components["ray"]
    logs = [tmp_path / path for path in ray.fatal_logs]
    ray_dir = tmp_path / "ray"
    old = ray_dir / "session_old" / "logs"
    old.mkdir(parents=True)
    (old / "raylet.out").write_text("[C] node_manager.cc:3557: Check failed: Timed out waiting for file old\n")
    (ray_dir / "session_latest").symlink_to(ray_dir / "session_old")
    before = _ends(logs)  # taken as an attempt starts
    assert _marked_line(logs, before, ray.fatal_marks) is None  # the failed attempt before this one
    new = ray_dir / "session_new" / "logs"
    new.mkdir(parents=True)
    (new / "raylet.out").write_text("I raylet starting\n")
    (ray_dir / "session_latest").unlink()
    (ray_dir / "session_latest").symlink_to(ray_dir / "session_new")
    assert _marked_line(logs, before, ray.fatal_marks) is None
    fatal = "[2026-12-02 04:13:20,597 C 42 42] (raylet) node_manager.cc:3557: Check failed: Timed out waiting for file x"
    (new / "raylet.err").write_text(fatal + "\n")
    assert _marked_line(logs, before, ray.fatal_marks) == fatal


def test_what_a_dead_leader_left_in_its_group_is_stopped(tmp_path: Path) -> None:
    """A `ray start` that gave up leaves its GCS server running in the group we started."""
    leader = procs.spawn(["sh", "-c", "sleep 300 & echo $! > child; exit 0"], tmp_path / "log", dict(os.environ), cwd=tmp_path)
    leader.wait()
    child = int((tmp_path / "child").read_text())
    assert psutil.pid_exists(child) and os.getpgid(child) == leader.pid
    procs.stop_tree(leader.pid, None, grace_s=5)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_a_group_whose_leader_lives_has_no_orphans(tmp_path: Path) -> None:
    leader = procs.spawn(["sh", "-c", "sleep 300 & sleep 300"], tmp_path / "log", dict(os.environ), cwd=tmp_path)
    try:
        assert procs.orphans(leader.pid) == []
    finally:
        procs.stop_tree(leader.pid, None, grace_s=2)
        leader.wait()


def test_a_wall_clock_step_does_not_make_a_living_part_look_dead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """psutil's create_time moves with the wall clock; the recorded start must not."""
    part = procs.spawn(["sleep", "300"], tmp_path / "log", dict(os.environ), cwd=tmp_path)
    try:
        started = procs.started_since_boot(part.pid)
        stepped = psutil.Process.create_time
        monkeypatch.setattr(psutil.Process, "create_time", lambda self: stepped(self) + 67.0)
        monkeypatch.setattr(psutil, "boot_time", lambda: 67.0)
        assert procs.alive(part.pid, started)
        assert not procs.alive(part.pid, started + 1.0)  # another process under the same PID
        procs.stop_tree(part.pid, started, grace_s=2)
        part.wait(timeout=10)
    finally:
        procs.stop_tree(part.pid, None, grace_s=2)


@pytest.mark.skipif(os.geteuid() != 0, reason="Postgres runs as another user only when we are root")
def test_postgres_user_gets_search_only_access_through_a_private_folder(tmp_path: Path) -> None:
    """A clone under a 0700 home (root's): Postgres' user must reach its binaries and data there."""
    import pwd

    from pgserver.utils import ensure_user_exists

    pg = ensure_user_exists("pgserver")
    nobody = pwd.getpwnam("nobody")
    assert pg is not None
    private = tmp_path / "home"
    (private / "clone" / "bin").mkdir(parents=True)
    private.chmod(0o700)

    def can(user: pwd.struct_passwd, *test: str) -> bool:
        return subprocess.run(["test", *test], user=user.pw_uid, group=user.pw_gid, check=False).returncode == 0

    target = private / "clone" / "bin"
    assert not can(pg, "-x", str(target))
    assert private in procs.reachable_for(target / "postgres", pg.pw_uid, pg.pw_gid)
    assert can(pg, "-x", str(target))  # passes through
    assert not can(pg, "-r", str(private))  # but lists nothing
    assert not can(nobody, "-x", str(target))  # and nobody else gained anything
    assert procs.reachable_for(target / "postgres", pg.pw_uid, pg.pw_gid) == []  # granted once


def test_down_stops_what_a_part_that_died_left_in_its_group(bare: tuple[Stack, list[str]], tmp_path: Path) -> None:
    stack, _ = bare
    leader = procs.spawn(["sh", "-c", "sleep 300 & echo $! > child; exit 0"], tmp_path / "log", dict(os.environ), cwd=tmp_path)
    leader.wait()
    child = int((tmp_path / "child").read_text())
    stack._save_state({"components": {"smtp": {"pid": leader.pid, "started_since_boot": None}}})
    assert stack.down() == ["smtp"]
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
