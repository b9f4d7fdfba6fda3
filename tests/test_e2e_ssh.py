"""End to end: ``qjob-tui relay --ssh`` with the real OpenSSH client, in tmux.

A relay over a real local service serves a dashboard per SSH session: viewers watch read-only,
operators act; a change made by one reaches the others; a resize redraws; a killed client leaves
no process behind; an unknown key is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.http_helpers import sampler_body
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess, free_port
from tests.test_e2e_tmux import Tmux


def ensure_ssh() -> str:
    """The OpenSSH client, installed with apt-get when missing."""
    found = shutil.which("ssh")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "openssh-client"], check=False, timeout=600
        )
    found = shutil.which("ssh")
    if not found:
        pytest.skip("the OpenSSH client is not installed and could not be installed")
    return found


def write_key(path: Path) -> Path:
    """An Ed25519 key pair (``path`` and ``path.pub``), as ssh-keygen writes them."""
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    path.with_suffix(".pub").write_bytes(key.export_public_key())
    return path


@dataclass
class SshRelay:
    relay: RelayProcess
    ssh_port: int
    home: Path
    viewer: Path
    operator: Path
    stranger: Path
    ssh: str

    def command(self, key: Path, log_level: str = "ERROR") -> list[str]:
        return [
            self.ssh,
            "-p",
            str(self.ssh_port),
            "-i",
            str(key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={self.home / 'known_hosts'}",
            "-o",
            f"LogLevel={log_level}",
            "127.0.0.1",
        ]

    def open(self, name: str, key: Path, width: int = 120, height: int = 30) -> Tmux:
        tmux = Tmux(name)
        tmux.run("kill-session", "-t", name)
        line = " ".join(self.command(key))
        tmux.run(
            "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
            f"env TERM=xterm-256color {line}",
        )  # fmt: skip
        return tmux

    def dashboards(self) -> list[int]:
        """Pids of the relay's child processes (one dashboard per session)."""
        assert self.relay.proc is not None
        parent = str(self.relay.proc.pid)
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == parent and fields[0] != "Z":
                children.append(int(entry))
        return children


@pytest.fixture(scope="module")
def ssh_relay(
    service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SshRelay]:
    ssh = ensure_ssh()
    home = tmp_path_factory.mktemp("ssh-relay")
    viewer, operator = write_key(home / "viewer"), write_key(home / "operator")
    stranger = write_key(home / "stranger")
    (home / "viewers").write_bytes(viewer.with_suffix(".pub").read_bytes())
    (home / "operators").write_bytes(operator.with_suffix(".pub").read_bytes())
    port = free_port()
    relay = RelayProcess(
        home,
        "--source",
        service.root,
        "--ssh",
        str(port),
        "--authorized-keys",
        str(home / "viewers"),
        "--operator-keys",
        str(home / "operators"),
        "--data",
        str(home / "data"),
    ).start()
    deadline = time.monotonic() + 30
    while "host key SHA256:" not in relay.log.read_text():
        assert time.monotonic() < deadline, relay.log.read_text()
        time.sleep(0.1)
    try:
        yield SshRelay(relay, port, home, viewer, operator, stranger, ssh)
    finally:
        relay.stop()


def long_job(service: ServiceProcess, name: str) -> str:
    """A job that stays queued for minutes, with a name to find its row by."""
    with httpx.Client(base_url=service.url) as http:
        body = sampler_body("fake_cairo", shots=100_000, name=name)
        return str(http.post("/jobs", json=body).json()["id"])


def row_of(screen: str, job_id: str) -> str:
    """The job list's row of a job (the first line that shows its id), or ''."""
    return next((line for line in screen.splitlines() if job_id in line), "")


def active(row: str) -> bool:
    """A row that shows its job queued or running (the device may start it at once)."""
    return "queued" in row or "running" in row


def test_host_key_is_made_once_and_its_fingerprint_printed(ssh_relay: SshRelay) -> None:
    key = ssh_relay.home / "data" / "ssh_host_ed25519_key"
    assert key.exists() and key.stat().st_mode & 0o077 == 0
    assert "host key SHA256:" in ssh_relay.relay.log.read_text()


def test_viewer_sees_the_jobs_and_cannot_cancel(
    ssh_relay: SshRelay, service: ServiceProcess
) -> None:
    job_id = long_job(service, "viewer-watch")
    tmux = ssh_relay.open(f"qjob-ssh-viewer-{os.getpid()}", ssh_relay.viewer)
    try:
        screen = tmux.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
        footer = screen.rstrip().splitlines()[-1]
        assert "Quit" in footer and "Cancel" not in footer and "Tags" not in footer
        tmux.keys("c")
        tmux.keys("/")  # keys are taken in order: had "c" opened a dialog, this would not show
        screen = tmux.wait_for(lambda s: "filter: text, re:regex" in s)
        assert "Cancel this job?" not in screen
        with httpx.Client(base_url=service.url) as http:
            assert http.get(f"/jobs/{job_id}").json()["state"]["status"] in ("Queued", "Running")
    finally:
        tmux.run("kill-session", "-t", tmux.name)


def test_operator_cancels_and_another_viewer_sees_it(
    ssh_relay: SshRelay, service: ServiceProcess
) -> None:
    job_id = long_job(service, "to-cancel")
    viewer = ssh_relay.open(f"qjob-ssh-watcher-{os.getpid()}", ssh_relay.viewer)
    operator = ssh_relay.open(f"qjob-ssh-operator-{os.getpid()}", ssh_relay.operator)
    try:
        viewer.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
        screen = operator.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
        assert "Cancel" in screen.rstrip().splitlines()[-1]  # operators may act
        operator.keys("/")
        operator.wait_for(lambda s: "filter: text, re:regex" in s)
        operator.keys("-l", "to-cancel")
        operator.keys("Enter")
        operator.wait_for(lambda s: "filter: to-cancel" in s)
        operator.keys("c")
        operator.wait_for(lambda s: "Cancel this job?" in s)
        operator.keys("y")
        operator.wait_for(lambda s: "cancelled" in row_of(s, job_id), timeout=30)
        viewer.wait_for(lambda s: "cancelled" in row_of(s, job_id), timeout=30)
        with httpx.Client(base_url=service.url) as http:
            assert http.get(f"/jobs/{job_id}").json()["state"]["status"] == "Cancelled"
    finally:
        viewer.run("kill-session", "-t", viewer.name)
        operator.run("kill-session", "-t", operator.name)


def test_a_resize_redraws_at_the_new_size(ssh_relay: SshRelay, service: ServiceProcess) -> None:
    job_id = long_job(service, "resize-me")
    tmux = ssh_relay.open(f"qjob-ssh-resize-{os.getpid()}", ssh_relay.viewer, 120, 30)
    try:
        tmux.wait_for(lambda s: job_id in s and len(s.splitlines()) == 30, timeout=90)
        tmux.run("resize-window", "-t", tmux.name, "-x", "90", "-y", "20")

        def redrawn(screen: str) -> bool:
            lines = screen.splitlines()
            borders = [line.rstrip() for line in lines if line.startswith("╭")]
            return (
                len(lines) == 20
                and bool(borders)
                and all(len(b) <= 90 for b in borders)
                and any(len(b) == 90 for b in borders)
                and "Quit" in lines[-1]
            )

        tmux.wait_for(redrawn)
    finally:
        tmux.run("kill-session", "-t", tmux.name)


def wait_no_dashboards(ssh_relay: SshRelay) -> None:
    deadline = time.monotonic() + 30
    while ssh_relay.dashboards() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in ssh_relay.dashboards()}
    assert not left, left


def test_a_killed_client_leaves_no_process_behind(ssh_relay: SshRelay) -> None:
    wait_no_dashboards(ssh_relay)  # the sessions of the tests before have ended
    tmux = ssh_relay.open(f"qjob-ssh-killed-{os.getpid()}", ssh_relay.viewer)
    try:
        tmux.wait_for(lambda s: "Quit" in s, timeout=90)
        assert len(ssh_relay.dashboards()) == 1
        client = int(tmux.run("list-panes", "-t", tmux.name, "-F", "#{pane_pid}").split()[0])
        os.kill(client, 9)  # the client dies without a word, as when a laptop lid closes
        wait_no_dashboards(ssh_relay)
    finally:
        tmux.run("kill-session", "-t", tmux.name)


def test_an_unknown_key_is_refused_clearly(ssh_relay: SshRelay) -> None:
    done = subprocess.run(
        # OpenSSH's default log level, at which it shows the server's banner.
        [*ssh_relay.command(ssh_relay.stranger, "INFO"), "-o", "BatchMode=yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 255
    assert "is not allowed here" in done.stderr and "Permission denied" in done.stderr
    assert "refused SSH key" in ssh_relay.relay.log.read_text()


def test_no_exec_and_no_forwarding(ssh_relay: SshRelay) -> None:
    done = subprocess.run(
        [*ssh_relay.command(ssh_relay.operator), "-o", "BatchMode=yes", "cat", "/etc/passwd"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "root:" not in done.stdout
    # A tunnel to the relay's own port (a direct-tcpip channel, as -L and -W open): refused.
    tunnel = subprocess.run(
        [
            *ssh_relay.command(ssh_relay.operator),
            "-o",
            "BatchMode=yes",
            "-W",
            f"127.0.0.1:{ssh_relay.relay.port}",
        ],
        input="GET /sources HTTP/1.0\r\n\r\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tunnel.returncode != 0 and "sources" not in tunnel.stdout, tunnel.stderr
