"""``qjob-tui serve`` refuses unsafe set-ups with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qjob_tui.service.server import is_loopback, refusal


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.org")


def test_public_bind_without_token_is_refused() -> None:
    assert refusal("127.0.0.1", None) is None
    assert refusal("0.0.0.0", "a-token-of-16-or-more") is None
    message = refusal("0.0.0.0", None)
    assert message is not None and "--token" in message


def test_the_command_exits_2_with_the_reason() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a token" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("qjob-tui ")
    bad = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "serve", "--port", "x"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "not a port number" in bad.stderr


def test_a_second_service_on_the_same_data_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.service_process import ServiceProcess

    first = ServiceProcess(tmp_path).start()
    try:
        note = (tmp_path / "service.json").read_text()
        assert first.url in note
        done = subprocess.run(
            [sys.executable, "-m", "qjob_tui", "serve", "--port", "0", "--data", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert f"another qjob-tui service uses {tmp_path} at {first.url}" in done.stderr
    finally:
        first.stop()
    assert not (tmp_path / "service.json").exists()


def test_port_0_announces_the_port_the_system_chose(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import time

    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "qjob_tui", "serve", "--port", "0", "--data", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "service.json").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        url = json.loads((tmp_path / "service.json").read_text())["url"]
        assert not url.endswith(":0/api/v1")
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"{url}/backends", timeout=1).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_port_in_use_is_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = ["serve", "--port", str(port), "--data", str(tmp_path)]
        done = subprocess.run(
            [sys.executable, "-m", "qjob_tui", *command],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "in use" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "service.json").exists()


def test_the_listening_socket_is_tcp_so_asyncio_disables_nagle() -> None:
    import asyncio
    import socket

    from qjob_tui.service.server import bind

    async def accepted_has_nodelay() -> int:
        seen: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw = writer.get_extra_info("socket")
            seen.append(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        with bind("127.0.0.1", 0) as sock:
            server = await asyncio.start_server(handle, sock=sock)
            port = sock.getsockname()[1]
            async with server:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                while not seen:
                    await asyncio.sleep(0.01)
                writer.close()
        return seen[0]

    assert asyncio.run(accepted_has_nodelay()) != 0


def test_a_public_bind_needs_a_token_of_16_non_blank_characters() -> None:
    for weak in (" ", " " * 40, "short-token", "a b c d e f g h i j k l m n o"):
        message = refusal("0.0.0.0", weak)
        assert message is not None and "16" in message, weak
    assert refusal("0.0.0.0", "x" * 16) is None
    assert refusal("127.0.0.1", " ") is None  # loopback: any token, or none


def _serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", "serve", "--port", "1", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env},
    )


def test_a_blank_token_from_the_environment_is_refused_off_loopback() -> None:
    done = _serve("--host", "0.0.0.0", env={"QJOB_TUI_SERVICE_TOKEN": " "})
    assert done.returncode == 2  # no client could send it, whatever the host
    assert "$QJOB_TUI_SERVICE_TOKEN: the secret holds a blank" in done.stderr


def test_a_named_variable_that_is_not_set_is_a_usage_error() -> None:
    done = _serve("--token-env", "NO_SUCH_VARIABLE_H11", env={})
    assert done.returncode == 2
    assert "--token-env NO_SUCH_VARIABLE_H11: that environment variable is not set" in done.stderr
    done = _serve("--iam-apikey-env", "NO_SUCH_KEY_H11", env={})
    assert done.returncode == 2 and "NO_SUCH_KEY_H11" in done.stderr


def test_job_time_above_its_limit_is_a_usage_error() -> None:
    done = _serve("--job-time", "100", "--job-time-limit", "50", env={})
    assert done.returncode == 2 and "--job-time 100 is above --job-time-limit 50" in done.stderr
    done = _serve("--job-memory", "10MiB", env={})
    assert done.returncode == 2 and "--job-memory must be at least" in done.stderr
    done = _serve("--max-body", "lots", env={})
    assert done.returncode == 2 and "not a size" in done.stderr


def test_secrets_from_the_environment_never_reach_the_command_line(
    tmp_path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """--token-env names a variable; the API key comes from $QJOB_TUI_IAM_APIKEY by default."""
    import httpx

    from tests.service_process import ServiceProcess

    token, apikey = "a-token-from-the-environment", "an-api-key-from-the-environment"
    monkeypatch.setenv("H11_SERVICE_SECRET", token)
    monkeypatch.setenv("QJOB_TUI_IAM_APIKEY", apikey)
    proc = ServiceProcess(tmp_path, "--token-env", "H11_SERVICE_SECRET").start()
    try:
        assert proc.proc is not None
        argv = Path(f"/proc/{proc.proc.pid}/cmdline").read_bytes().decode()
        assert token not in argv and apikey not in argv
        assert httpx.get(f"{proc.url}/jobs").status_code == 401
        wrong = {"Authorization": f"Bearer {token[:-1]}X"}
        assert httpx.get(f"{proc.url}/jobs", headers=wrong).status_code == 401
        right = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{proc.url}/jobs", headers=right).status_code == 200
        issued = httpx.post(
            f"{proc.root}/identity/token",
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": apikey},
        )
        assert issued.status_code == 200
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert httpx.get(f"{proc.url}/jobs", headers=bearer).status_code == 200
    finally:
        proc.stop()


def _sigint_ignored(pid: int) -> bool:
    """Whether the process ignores SIGINT (bit 1 of SigIgn in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (2 - 1)))
    return False


def test_a_worker_leaves_ctrl_c_to_the_service(tmp_path: Path) -> None:
    """A Ctrl-C at the terminal reaches every process of the group: a worker still importing
    Qiskit printed a KeyboardInterrupt traceback. It ignores SIGINT from its first line (the
    service stops it), which /proc shows while it starts."""
    import time

    from tests.service_process import ServiceProcess
    from tests.web_frames import children

    service = ServiceProcess(tmp_path / "svc", "--warm-workers", "1").start()
    try:
        assert service.proc is not None
        deadline = time.monotonic() + 60
        while True:
            workers = [
                pid
                for pid in children(service.proc.pid)
                if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
                and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            if workers and all(_sigint_ignored(pid) for pid in workers):
                break
            assert time.monotonic() < deadline, workers
            time.sleep(0.05)
    finally:
        service.stop()
