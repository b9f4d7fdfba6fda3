"""Over real SSH: a viewer's (or operator's) export and save keys write no file on the relay's
host; the data goes to the viewer's own clipboard instead (OSC 52)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.service_process import ServiceProcess
from tests.test_e2e_ssh import SshRelay, active, long_job, row_of, ssh_relay

__all__ = ["ssh_relay"]  # the fixture, shared with the end-to-end SSH tests


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_export_over_ssh_writes_nothing_on_the_host(
    ssh_relay: SshRelay, service: ServiceProcess, tmp_path: Path, role: str
) -> None:
    job_id = long_job(service, f"export-{role}")
    key = ssh_relay.viewer if role == "viewer" else ssh_relay.operator
    tmux = ssh_relay.open(f"qjob-ssh-export-{role}-{os.getpid()}", key, width=160)
    target = tmp_path / f"{role}-export.csv"
    try:
        tmux.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
        tmux.keys("e")
        screen = tmux.wait_for(lambda s: "clipboard" in s)
        assert "Export the visible rows" not in screen  # no prompt for a file name
        # What an attacker would type into a prompt had one opened: a path on the host.
        tmux.keys("-l", str(target))
        tmux.keys("Enter")
        tmux.keys("Escape")
        tmux.keys("?")  # keys are taken in order: once help shows, the path was handled
        tmux.wait_for(lambda s: "Keys" in s or "help" in s.lower())
        assert not target.exists()
    finally:
        tmux.run("kill-session", "-t", tmux.name)
    assert not target.exists()
