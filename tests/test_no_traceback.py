"""No traceback reaches a user: a bad --theme is one line, a closed pipe ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.http_helpers import submit
from tests.service_process import ServiceProcess


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    env.update(XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    return env


def _qjob(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(home),
        stdin=subprocess.DEVNULL,
    )


def test_an_unknown_theme_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    done = _qjob("--theme", "nosuch", home=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown theme 'nosuch'" in lines[0]
    assert "textual-dark" in lines[0] and "nord" in lines[0]


def _into_closed_pipe(*args: str, home: Path) -> tuple[int, str]:
    """Run with stdout a pipe whose reader is gone before the first write (``| head -1``)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qjob_tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(home),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), err


@pytest.mark.parametrize("command", ["ls", "show", "watch"])
def test_a_closed_pipe_ends_quietly(service: ServiceProcess, tmp_path: Path, command: str) -> None:
    with httpx.Client(base_url=service.url) as http:
        job_id = submit(http, tags=["pipe"])
    args = {
        "ls": ("ls", "--limit", "200"),
        "show": ("show", job_id),
        "watch": ("ls", "--watch"),
    }[command]
    code, err = _into_closed_pipe(*args, "--source", service.root, home=tmp_path)
    assert code in (0, 141), err
    assert err == "", err


# A Ctrl-C while the command's own modules import: the finder raises it as the interrupt would,
# the moment the command's main module is looked up, before any handler of the command exists.
_INTERRUPTED_IMPORT = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "qjob_tui.cli.main":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
from qjob_tui.cli.entry import main
sys.exit(main(["ls"]))
"""


def test_a_ctrl_c_while_the_command_imports_ends_it_quietly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_IMPORT],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
    )
    assert (done.returncode, done.stderr) == (130, "")


def test_the_installed_command_and_python_m_share_the_entry_point() -> None:
    from importlib.metadata import entry_points

    [script] = [e for e in entry_points(group="console_scripts") if e.name == "qjob-tui"]
    assert script.value == "qjob_tui.cli.entry:main"
    assert (
        "from qjob_tui.cli.entry import main"
        in (Path(__file__).resolve().parent.parent / "qjob_tui" / "__main__.py").read_text()
    )
