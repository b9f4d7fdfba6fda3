"""``make run`` on a fresh clone says what it does at every step (read with ``make -n``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def planned(*targets: str) -> list[str]:
    """The commands make would run from scratch (-B), without running them (-n)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["make", "-n", "-B", *targets], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.replace("\\\n", " ").splitlines()


def test_make_run_shows_each_step_and_pips_progress() -> None:
    lines = planned("run")
    said = [line for line in lines if line.startswith("echo ")]
    installs = [line for line in lines if "pip install" in line and "-e " in line]
    assert len(installs) == 1
    assert "--quiet" not in installs[0] and "--progress-bar on" in installs[0]
    # A line before each long step: the install, and the start of the service.
    first_install = lines.index(installs[0])
    assert any("installing qjob-tui" in line for line in lines[:first_install])
    start = next(i for i, line in enumerate(lines) if "qjob-tui demo" in line)
    assert any("starting a local job service" in line for line in lines[first_install:start])
    assert len(said) >= 4
