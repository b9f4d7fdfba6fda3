"""Every entry point ends an unexpected error with one line and a log path, never a secret.

Each test plants a failure (``tests/apps/crash_entry.py``) whose message and local variables hold
the service token, runs the entry point with that token in its environment, and reads everything
written to the terminal and to the crash log.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import httpx

from tests.service_process import ServiceProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "SuperSecretToken12345"
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    env.update(XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    env.update(XDG_STATE_HOME=str(home / "state"), QJOB_TUI_SERVICE_TOKEN=TOKEN)
    env.update(TERM="xterm-256color", PYTHONUNBUFFERED="1")
    return env


def _crash_logs(home: Path) -> str:
    folder = home / "state" / "qjob-tui" / "log"
    return "".join(path.read_text() for path in sorted(folder.glob("*.log")))


def _check(home: Path, terminal: str, words: str = "unexpected error") -> str:
    """The terminal got one line naming the log; the log holds the traceback; no token."""
    lines = [line for line in terminal.splitlines() if line.strip()]
    assert len(lines) == 1, terminal
    assert words in lines[0] and "planted failure" in lines[0], lines
    assert "Traceback" not in terminal and TOKEN not in terminal
    log = _crash_logs(home)
    assert str(home / "state" / "qjob-tui" / "log") in lines[0]
    assert "Traceback (most recent call last)" in log and "planted failure" in log
    assert TOKEN not in log and "locals" not in log
    assert "Bearer ***" in log  # the token's place, masked
    return lines[0]


def _planted(target: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.apps.crash_entry", target, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(home),
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )


def test_a_command_that_fails_says_one_line(service: ServiceProcess, tmp_path: Path) -> None:
    done = _planted(
        "qjob_tui.api.client:JobClient.jobs", "ls", "--source", service.root, home=tmp_path
    )
    assert done.returncode == 1
    assert done.stdout == ""
    _check(tmp_path, done.stderr)


def test_the_relay_failing_to_start_says_one_line(tmp_path: Path) -> None:
    done = _planted(
        "qjob_tui.relay.server:run_relay",
        "relay",
        "--port",
        "0",
        "--source",
        "http://127.0.0.1:9",
        home=tmp_path,
    )
    assert done.returncode == 1
    _check(tmp_path, done.stderr)


def test_the_service_failing_to_start_says_one_line(tmp_path: Path) -> None:
    done = _planted(
        "qjob_tui.service.server:serve",
        "serve",
        "--port",
        "0",
        "--data",
        str(tmp_path / "d"),
        home=tmp_path,
    )
    assert done.returncode == 1
    _check(tmp_path, done.stderr)


def _serve_and_fail_one_request(
    args: list[str], home: Path, first_words: str, ready: str, failing: str
) -> tuple[str, str]:
    """Start a server with a planted failure, fail one request, stop it: (stdout, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.apps.crash_entry", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first_words in first, first
        headers = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + 60
        while not _answers(ready, headers):
            assert time.monotonic() < deadline and proc.poll() is None, "it never answered"
            time.sleep(0.1)
        answer = httpx.get(failing, headers=headers, timeout=30)
        assert answer.status_code == 500
        assert TOKEN not in answer.text and "Traceback" not in answer.text
        assert _answers(ready, headers)  # one request failed, the server goes on
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    return out, err


def test_a_failing_request_costs_the_service_one_line(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1"
    out, err = _serve_and_fail_one_request(
        ["qjob_tui.service.app:JobRoutes.version", "serve", "--port", str(port),
         "--data", str(tmp_path / "d")],
        tmp_path, "qjob-tui service:", f"{url}/health", f"{url}/version",
    )  # fmt: skip
    _check(tmp_path, err)
    assert out == ""


def test_a_failing_request_costs_the_relay_one_line(
    service: ServiceProcess, tmp_path: Path
) -> None:
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    out, err = _serve_and_fail_one_request(
        ["qjob_tui.relay.app:Relay.sources", "relay", "--port", str(port),
         "--source", service.root],
        tmp_path, "qjob-tui relay:", f"{root}/sources/x/api/v1/jobs", f"{root}/sources",
    )  # fmt: skip
    lines = [line for line in err.splitlines() if "qjob-tui relay:" not in line]
    _check(tmp_path, "\n".join(lines), "Exception in ASGI application")
    assert out == ""


def _answers(url: str, headers: dict[str, str] | None = None) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=5).status_code < 500
    except httpx.TransportError:
        return False


def _run_on_a_terminal(args: list[str], home: Path) -> tuple[int, str]:
    """Run in a fresh pseudo-terminal, as a user would; everything it wrote there, decoded."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.apps.crash_entry", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        cwd=ROOT,
        env=_env(home),
    )
    os.close(slave)
    written = b""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal's other side is gone: the app has ended
                    break
                if not chunk:
                    break
                written += chunk
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=30), written.decode("utf-8", "replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_dashboard_failing_says_one_line(service: ServiceProcess, tmp_path: Path) -> None:
    code, written = _run_on_a_terminal(
        ["qjob_tui.store.store:JobStore.start", "--source", service.root], tmp_path
    )
    assert code == 1
    after = written.rpartition("\x1b[?1049l")[2]  # what was left once the screen was restored
    terminal = _ESCAPES.sub("", after).replace("\r", "")
    _check(tmp_path, terminal)


def test_redact_masks_known_secrets_and_secret_looking_values() -> None:
    from qjob_tui.cli.crash import known_secrets, redact

    secrets = known_secrets({"QJOB_TUI_SERVICE_TOKEN": "tök\nen-1234", "PATH": "/usr/bin"})
    assert "/usr/bin" not in secrets
    text = "sent 'tök\\nen-1234' and tök\nen-1234 along /usr/bin"
    assert redact(text, secrets) == "sent '***' and *** along /usr/bin"
    for leak in (
        "Authorization: Bearer abc.def-ghi",
        '{"apikey": "K3y-value"}',
        "token=abcdef&x=1",
        "{'password': 'hunter2'}",
    ):
        masked = redact(leak, [])
        assert "***" in masked
        assert not any(word in masked for word in ("abc.def", "K3y", "abcdef", "hunter2"))
