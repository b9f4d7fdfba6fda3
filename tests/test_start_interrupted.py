"""Ctrl+C while the dashboard starts its local service leaves no service behind.

The terminal sends SIGINT to the dashboard's process group at the moment its service child has
just been spawned (seen in /proc, not guessed by a timer). The service runs in a session of its
own; afterwards no process of that session (the service, its workers) may remain, and the demo's
temporary folder is gone only with its service.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qjob_tui.cli.embedded import interrupts_deferred

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _default_sigint() -> None:
    """Ctrl+C's signal as a terminal sends it, whatever this run inherited (nohup ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _session_members(session: int) -> list[int]:
    """The live (not zombie) processes of a session."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _spawned_service(dashboard: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """The pid of the dashboard's ``qjob-tui serve`` child, as soon as it runs that program."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert dashboard.poll() is None, "the dashboard ended before starting its service"
        for child in _children(dashboard.pid):
            if " serve " in _command(child):
                return child
        time.sleep(0.005)
    raise AssertionError("the dashboard started no service")


def _gone(session: int, timeout: float = 20.0) -> list[int]:
    """The session's processes still alive after ``timeout`` (an empty list once all end)."""
    deadline = time.monotonic() + timeout
    alive = _session_members(session)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = _session_members(session)
    return alive


def _interrupt_start(tmp_path: Path, *args: str, service_too: bool = False) -> tuple[int, str]:
    """Start ``qjob-tui ARGS``, Ctrl+C it once its service is spawned; return the dashboard's
    exit code and the service's command line. Fails if any process of the service's session
    outlives it. ``service_too``: the service gets the SIGINT as well, as it would in the
    terminal's process group."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        TMPDIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    with (tmp_path / "dashboard.out").open("wb") as out:
        dashboard = subprocess.Popen(
            [sys.executable, "-m", "qjob_tui", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            preexec_fn=_default_sigint,
        )
    service = 0
    try:
        service = _spawned_service(dashboard)
        command = _command(service)
        if service_too:
            os.kill(service, signal.SIGINT)
        os.killpg(dashboard.pid, signal.SIGINT)
        code = dashboard.wait(timeout=60)
        assert b"Traceback" not in (tmp_path / "dashboard.out").read_bytes()
        return code, command
    finally:
        if dashboard.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dashboard.pid, signal.SIGKILL)
            dashboard.wait()
        if service:
            left = _gone(service)
            named = [_command(pid) or str(pid) for pid in left]
            for pid in left:  # never left running, whatever failed
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            assert not left, f"left running: {named}"


@pytest.mark.parametrize("service_too", [False, True], ids=["dashboard", "both"])
def test_ctrl_c_while_the_demo_starts_stops_its_service(tmp_path: Path, service_too: bool) -> None:
    code, command = _interrupt_start(tmp_path, "demo", service_too=service_too)
    assert "--demo" in command
    assert code == 130
    assert not list(tmp_path.glob("qjob-tui-demo-*")), "the demo's folder outlived the dashboard"


def test_ctrl_c_while_the_shared_service_starts_leaves_none(tmp_path: Path) -> None:
    code, command = _interrupt_start(tmp_path)
    assert "--while-used" in command
    assert code == 130


def test_a_ctrl_c_during_the_spawn_waits_for_its_end() -> None:
    """The SIGINT that comes while the child is being spawned is raised once it is recorded."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    recorded = False
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            recorded = True
        assert recorded
        with interrupts_deferred():  # nothing caught: nothing raised
            pass
    finally:
        signal.signal(signal.SIGINT, previous)
