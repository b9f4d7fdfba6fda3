"""``qjob-tui serve`` takes its secrets from the environment or a private file, never from its
command line: no process it starts shows them to ``ps``, and the old flags say where to go."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service_process import ServiceProcess

TOKEN = "a-token-read-from-a-private-file"
APIKEY = "an-api-key-read-from-the-environment"


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )


def _descendants(root: int) -> list[int]:
    """Every process below ``root``, found through each process's parent in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("--token", ("$QJOB_TUI_SERVICE_TOKEN", "--token-file PATH")),
        ("--iam-apikey", ("$QJOB_TUI_IAM_APIKEY", "--iam-apikey-file PATH")),
    ],
)
def test_a_secret_on_the_command_line_is_refused_with_the_way_in(
    flag: str, words: tuple[str, str]
) -> None:
    for args in ([flag, "the-secret-typed-in-1234"], [f"{flag}=the-secret-typed-in-1234"]):
        done = _serve(*args)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{flag} is refused" in lines[0]
        assert all(word in lines[0] for word in words)
        assert "the-secret-typed-in" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "typed",
    [
        ["--tok=the-secret-typed-in-1234"],
        ["--tokn=the-secret-typed-in-1234"],
        ["--tok", "the-secret-typed-in-1234"],
        ["--tokn", "the-secret-typed-in-1234"],
        ["--tokn", "the-secret-typed-in-1234", "--verbose"],
    ],
)
@pytest.mark.parametrize("command", ["serve", "relay"])
def test_a_mistyped_option_never_repeats_its_value(command: str, typed: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", command, *typed],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert done.returncode == 2 and "--tok" in done.stderr
    assert "the-secret-typed-in" not in done.stderr + done.stdout


def test_an_unrecognized_word_that_is_no_options_value_is_named() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "show", "some-id", "stray-word"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert done.returncode == 2 and "unrecognized arguments: stray-word" in done.stderr


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o644)
    done = _serve("--token-file", str(path))
    assert done.returncode == 2
    assert f"--token-file {path}: other users can read or change it (mode 644)" in done.stderr
    assert f"chmod 600 {path}" in done.stderr and TOKEN not in done.stderr
    path.chmod(0o600)
    both = _serve("--token-file", str(path), "--token-env", "SOME_VARIABLE")
    assert both.returncode == 2 and "choose one" in both.stderr
    missing = _serve("--iam-apikey-file", str(tmp_path / "none"))
    assert missing.returncode == 2 and "No such file" in missing.stderr
    path.write_text("")
    empty = _serve("--token-file", str(path))
    assert empty.returncode == 2 and "the file is empty" in empty.stderr


def test_no_process_of_the_service_shows_its_secrets(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    proc = ServiceProcess(
        tmp_path / "data",
        "--token-file",
        str(token_file),
        "--warm-workers",
        "1",  # a worker process from the start, whose argv and environment are read too
        env={"QJOB_TUI_IAM_APIKEY": APIKEY},
    ).start()
    try:
        assert proc.proc is not None
        deadline = time.monotonic() + 60
        while not (workers := _descendants(proc.proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers, "the service started no worker process"
        for pid in [proc.proc.pid, *workers]:
            argv = _read(Path(f"/proc/{pid}/cmdline"))
            assert TOKEN.encode() not in argv and APIKEY.encode() not in argv
        for pid in workers:
            environment = _read(Path(f"/proc/{pid}/environ"))
            assert TOKEN.encode() not in environment and APIKEY.encode() not in environment
        assert httpx.get(f"{proc.url}/jobs").status_code == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{proc.url}/jobs", headers=right).status_code == 200
        issued = httpx.post(
            f"{proc.root}/identity/token",
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": APIKEY},
        )
        assert issued.status_code == 200
    finally:
        proc.stop()


@pytest.mark.parametrize(
    "token", ["line-one-secret-1234\nline-two", "secret with blanks 1234", "sécret-1234567890ab"]
)
def test_a_secret_no_client_can_send_is_refused(token: str) -> None:
    """A service started with such a token could never be reached: the client refuses to send
    it (and a header could not carry it); say so at the start instead."""
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "QJOB_TUI_SERVICE_TOKEN": token},
    )
    assert done.returncode == 2, done.stderr
    assert "$QJOB_TUI_SERVICE_TOKEN: the secret holds a blank" in done.stderr
    assert token.splitlines()[0] not in done.stderr


@pytest.mark.parametrize("variable", ["QJOB_TUI_RELAY_TOKEN", "QJOB_TUI_RELAY_OPERATOR_TOKEN"])
def test_a_relay_token_no_client_can_send_is_refused(variable: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "relay", "--port", "0", "--no-web"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", variable: "viewer\n0123456789abcdef"},
    )
    assert done.returncode == 2, done.stderr
    assert f"${variable}: the secret holds a blank" in done.stderr
    assert "0123456789abcdef" not in done.stderr
