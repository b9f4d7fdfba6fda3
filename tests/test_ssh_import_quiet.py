"""The relay's SSH door starts without asyncssh's deprecation warnings on the terminal."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_ssh_server_prints_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import qjob_tui.ssh.server"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "CryptographyDeprecationWarning" not in done.stderr
    assert done.stderr == ""
