"""A command cut short by Ctrl-C ends with status 130 and no traceback: it ended 0, and a script
(``id=$(qjob-tui submit ...) && ...``) read an interrupted submit as a done one. A watch, which
only Ctrl-C ends, still ends 0 (tests/test_cli_jobs.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.child_signals import default_sigint, user_env
from tests.http_helpers import BELL


@pytest.mark.parametrize("command", [["ls"], ["show", "d" + "0" * 19], ["submit", "FILE"]])
def test_a_command_interrupted_while_it_waits_ends_130(tmp_path: Path, command: list[str]) -> None:
    circuit = tmp_path / "bell.qasm"
    circuit.write_text(BELL)
    command = [str(circuit) if word == "FILE" else word for word in command]
    with socket.socket() as silent:  # accepts, and never answers: the command waits
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        child = subprocess.Popen(
            [sys.executable, "-m", "qjob_tui", *command, "--source", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=user_env(tmp_path),
            preexec_fn=default_sigint,
        )
        try:
            silent.settimeout(60)
            asked, _ = silent.accept()  # the command is waiting for its answer now
            with asked:
                child.send_signal(signal.SIGINT)
                out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode == 130, (out, err)
    assert out == "" and "Traceback" not in err
