"""Every ```sh and ```python block of the README runs as written, from the checkout.

The blocks run in the README's order, each as a reader would run it: a Python block with this
interpreter, a shell block with ``bash -e``, the checkout as working folder (so
``examples/bell.qasm`` is found), a home and XDG folders of the test's own, the virtualenv's
``qjob-tui`` first on ``PATH``. A shell block that starts the service (``qjob-tui serve``, which a
reader leaves running in a terminal of its own) runs in the background until the next such block;
the blocks after it talk to it at the address it prints. A block preceded by
``<!-- not run: REASON -->`` is skipped with that reason (the set-up itself, synopses, several
machines). Every block is bounded in time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
VENV_PROGRAM = ROOT / ".venv" / "bin" / "qjob-tui"  # where make run installs the program
BLOCK_SECONDS = 300
_FENCE = re.compile(
    r"(?:^<!-- not run: (?P<reason>.+?) -->\n)?^```(?P<lang>sh|python)\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
_SERVE = re.compile(r"^(?:[A-Z_]+=\S+ )*qjob-tui serve\b")
_LISTENING = re.compile(r"qjob-tui service: (http://127\.0\.0\.1:\d+)/api/v1")


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    code: str
    not_run: str | None

    @property
    def serves(self) -> bool:
        """A block that starts the service, which a reader leaves running."""
        lines = [ln for ln in self.code.splitlines() if ln.strip() and not ln.startswith("#")]
        return self.lang == "sh" and len(lines) == 1 and bool(_SERVE.match(lines[0]))


def blocks() -> list[Block]:
    text = README.read_text()
    return [
        Block(
            line=text.count("\n", 0, m.start("code")) + 1,
            lang=m.group("lang"),
            code=m.group("code"),
            not_run=m.group("reason"),
        )
        for m in _FENCE.finditer(text)
    ]


class Services:
    """The service the last serve block started, as a reader's other terminal holds it."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, block: Block, env: dict[str, str], log: Path) -> None:
        self.stop()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["bash", "-e", "-c", block.code],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the service ended: {log.read_text()[-2000:]}"
            found = _LISTENING.search(log.read_text(errors="replace"))
            if found and _answers(found.group(1)):
                return
            time.sleep(0.1)
        raise AssertionError(f"the service did not start: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def _answers(root: str) -> bool:
    try:
        return httpx.get(f"{root}/api/v1/backends", timeout=2).status_code in (200, 401)
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    held = Services()
    yield held
    held.stop()


@pytest.fixture(scope="module")
def reader_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("reader")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.pop("IAM_URL", None)
    return {
        **env,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
    }


def test_the_readme_has_blocks_to_run() -> None:
    found = blocks()
    assert sum(1 for b in found if b.not_run is None and not b.serves) >= 4
    assert all(b.not_run for b in found if "0.0.0.0" in b.code), "a block binds every address"


@pytest.mark.parametrize("block", blocks(), ids=lambda b: f"README.md:{b.line}")
def test_block_runs_as_written(
    block: Block, services: Services, reader_env: dict[str, str], tmp_path: Path
) -> None:
    if block.not_run:
        pytest.skip(f"not run: {block.not_run}")
    if ".venv/" in block.code and not VENV_PROGRAM.exists():
        pytest.skip("needs the .venv of make run, which this checkout has not (make bounds?)")
    if block.serves:
        services.start(block, reader_env, tmp_path / "service.log")
        return
    command = [sys.executable, "-c", block.code] if block.lang == "python" else None
    command = command or ["bash", "-e", "-c", block.code]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=reader_env,
        capture_output=True,
        text=True,
        timeout=BLOCK_SECONDS,
        start_new_session=True,
    )
    assert done.returncode == 0, (
        f"README.md:{block.line}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr


def test_the_first_command_works_in_a_terminal_without_qjob_tui_on_path(
    reader_env: dict[str, str],
) -> None:
    """A newcomer's terminal after make run has no qjob-tui on PATH: the README's first block
    that runs it must say how to reach it (and run there), not assume it."""
    first = next(b for b in blocks() if b.lang == "sh" and not b.not_run and "qjob-tui" in b.code)
    assert not first.serves, f"README.md:{first.line} starts the service before saying how"
    if not VENV_PROGRAM.exists():
        pytest.skip("needs the .venv of make run, which this checkout has not (make bounds?)")
    plain = {**reader_env, "PATH": "/usr/bin:/bin"}
    plain.pop("PYTHONPATH", None)
    plain.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        ["bash", "-e", "-c", first.code],
        cwd=ROOT,
        env=plain,
        capture_output=True,
        text=True,
        timeout=BLOCK_SECONDS,
    )
    assert done.returncode == 0, f"README.md:{first.line}\n{done.stdout}{done.stderr}"
    assert "qjob-tui" in done.stdout
