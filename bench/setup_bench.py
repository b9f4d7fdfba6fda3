"""Set-up: ``make run`` from a fresh clone to the demo's first job row, and a second ``make run``.

Run as ``python bench/setup_bench.py`` (one to three minutes). Prints a markdown table.

The clone is ``git clone`` of this checkout's committed HEAD into a temporary folder: no .venv, no
.tools. ``make run`` runs in the same 120x40 pseudo-terminal the other benches use, with its own
XDG folders, and is timed from spawn to:

- its first byte on the terminal (the installer says what it does at once),
- the end of the set-up (make's line "starting a local job service": everything installed),
- the demo's first job row on the dashboard ("GHZ 3", the demo's first job, read off the screen
  as a terminal draws it);

then ``q`` quits, and a second ``make run`` in the same clone (everything installed) is timed the
same way. uv's and pip's caches (``~/.cache/uv``, ``~/.cache/pip``) are what this machine has: warm
once anything was installed here, so the first run links packages it already has rather than
downloading them. A third run repeats the first in another clone with empty caches
(``UV_CACHE_DIR`` and ``PIP_CACHE_DIR`` in an empty folder): every package is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pty_dashboard import PtyDashboard, dashboard_env  # noqa: E402
from startup_bench import load, on_screen  # noqa: E402

FIRST_ROW = "GHZ 3"  # the name of the demo's first job, shown only in its row
SET_UP_DONE = "starting a local job service"  # make's line once .venv is ready
INSTALL_TIMEOUT = 600.0


def first_output(program: PtyDashboard, timeout: float = 60.0) -> float:
    """Seconds from spawn to the first byte the program wrote to the terminal."""
    deadline = time.perf_counter() + timeout
    while not program.chunks:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no output after {timeout} s")
        time.sleep(0.01)
    return program.chunks[0][0] - program.started


def make_run(clone: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """``make run`` in the clone: seconds to its first output, set-up done, first job row."""
    with PtyDashboard(["make", "-C", str(clone), "run"], env) as program:
        installed = on_screen(program, SET_UP_DONE, timeout=INSTALL_TIMEOUT) - program.started
        row = on_screen(program, FIRST_ROW, timeout=120) - program.started
        return first_output(program), installed, row


def fresh_clone(into: Path) -> Path:
    clone = into / "qjob-tui"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    return clone


Row = tuple[str, tuple[float, float, float], str]


def measure() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = dashboard_env(home)
        clone = fresh_clone(home / "warm")
        rows.append(("`make run`, fresh clone, warm caches", make_run(clone, env), "≤ 30 s"))
        rows.append(("`make run` again", make_run(clone, env), "≤ 3 s (set-up)"))
        empty = home / "empty-caches"
        cold_env = dict(env, UV_CACHE_DIR=str(empty / "uv"), PIP_CACHE_DIR=str(empty / "pip"))
        times = make_run(fresh_clone(home / "cold"), cold_env)
        rows.append(("`make run`, fresh clone, empty caches", times, ""))
    return rows


def main() -> None:
    before = load()
    rows = measure()
    after = load()
    print("### Set-up from a fresh clone\n")
    print("| Command | First output | Set-up done | First job row | Aim |")
    print("|---|---|---|---|---|")
    for command, (first, installed, row), aim in rows:
        print(f"| {command} | {first:.1f} s | {installed:.1f} s | {row:.1f} s | {aim} |")
    print(
        f"\n_One run each in a 120x40 pty, from spawn; the clone is this checkout's HEAD. Warm "
        f"caches: this machine's uv and pip caches already hold every package; empty caches: "
        f"every package downloaded from the package index. Load average "
        f"{before} before, {after} after ({os.cpu_count()} cores)._"
    )


if __name__ == "__main__":
    sys.exit(main())
