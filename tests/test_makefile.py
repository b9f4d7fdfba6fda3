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


def test_make_run_shows_each_step_and_installs_from_the_lock() -> None:
    lines = planned("run")
    said = [line for line in lines if line.startswith("echo ")]
    syncs = [line for line in lines if " sync " in line]
    assert len(syncs) == 1
    # From the lock file, as tested; only what the dashboard needs; nothing else removed.
    assert "--frozen" in syncs[0] and "--no-dev" in syncs[0] and "--inexact" in syncs[0]
    assert "--quiet" not in syncs[0]
    # A line before each long step: the installer, the install, and the start of the service.
    first_sync = lines.index(syncs[0])
    assert any("installing the installer" in line for line in lines[:first_sync])
    assert any("installing qjob-tui" in line for line in lines[:first_sync])
    start = next(i for i, line in enumerate(lines) if "qjob-tui demo" in line)
    assert any("starting a local job service" in line for line in lines[first_sync:start])
    assert len(said) >= 4


def test_make_test_installs_the_test_tools_from_the_lock() -> None:
    syncs = [line for line in planned("install") if " sync " in line]
    assert len(syncs) == 1
    assert "--frozen" in syncs[0] and "--group dev" in syncs[0] and "--all-extras" in syncs[0]


def test_the_lock_file_is_in_the_repository() -> None:
    lock = ROOT / "uv.lock"
    assert lock.is_file()
    assert 'name = "qjob-tui"' in lock.read_text()


def test_make_dist_builds_the_wheel_with_the_projects_own_uv() -> None:
    builds = [line for line in planned("dist") if " build " in line]
    assert len(builds) == 1
    assert ".tools/uv/bin/uv build" in builds[0] and "--out-dir dist" in builds[0]


def test_make_bounds_runs_the_suite_on_the_lowest_versions_the_ranges_allow() -> None:
    lines = planned("bounds")
    installs = [line for line in lines if " pip install " in line and "lowest-direct" in line]
    assert len(installs) == 1 and "--group dev" in installs[0]
    assert any(".venv-lowest/bin/python -m pytest" in line for line in lines)


def test_make_run_says_how_to_run_the_commands_every_time() -> None:
    """Not only on the first install: the program is in .venv, not on PATH, every time."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(  # the set-up up to date (-o): only run's own steps
        ["make", "-n", "-o", ".venv/.run-stamp", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if line.startswith("echo ")]
    assert not any(" sync " in line for line in done.stdout.splitlines())
    assert any(
        "source .venv/bin/activate" in line and ".venv/bin/qjob-tui" in line for line in said
    )
    assert any("--source" in line for line in said)
