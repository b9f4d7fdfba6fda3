"""Start-up: spawn to a painted job list with 10,000 cached jobs, against a minimal Textual app.

Run as ``python bench/startup_bench.py`` (about a minute). Prints a markdown table.

The real local service holds 10,000 finished jobs; the dashboard's cache
(``$XDG_CACHE_HOME/qjob-tui``, under the source name ``--source URL`` gives, the URL itself)
holds the same jobs, as after an earlier session. Both programs run in the same 120x40
pseudo-terminal (TERM=xterm-256color), alternately, in the same run:

- floor: ``bench/minimal_list_app.py``, a Textual app that paints a static 38-row list and
  nothing else, from spawn until its last row shows;
- dashboard: ``qjob-tui --source URL``, from spawn until the newest cached job id shows, and
  then until the status line counts all 10,000 (the rest of the cache, loaded after).

"Shows" is read off the screen as a terminal draws it: the output replayed in pyte.

Each is measured in two ways, alternately: with Python's bytecode cache (as on a user's machine
after any earlier start) and compiling every module at each start (as where
``PYTHONDONTWRITEBYTECODE`` is set, which this project's shared machine does: there every start
compiled some 540 modules, most of a start's time). The ratio of the medians with the bytecode
cached is the figure the aim is about (at most 1.5). The machine's load is reported with it:
the two cores are often shared.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from minimal_list_app import LAST_ROW  # noqa: E402
from pty_dashboard import (  # noqa: E402
    CACHED,
    HEIGHT,
    QJOB_TUI,
    REFRESH,
    WIDTH,
    PtyDashboard,
    dashboard_env,
    fill_cache,
)

from tests.service_process import ServiceProcess, fill_finished  # noqa: E402

REPEATS = 7
MINIMAL = [sys.executable, str(ROOT / "bench" / "minimal_list_app.py")]


def load() -> str:
    """The load averages, as ``uptime`` gives them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def on_screen(program: PtyDashboard, text: str, timeout: float = 30.0) -> float:
    """When ``text`` first showed on the terminal's screen (replayed in pyte, so a line the
    program rewrote in parts counts as the terminal shows it): the time of that chunk."""
    screen = pyte.Screen(WIDTH, HEIGHT)
    stream = pyte.ByteStream(screen)
    fed = 0
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        chunks = list(program.chunks)
        for at, data in chunks[fed:]:
            stream.feed(data)
            if any(text in line for line in screen.display):
                return at
        fed = len(chunks)
        if program.proc is not None and program.proc.poll() is not None:
            raise RuntimeError(f"{program.args[-1]} exited: {chr(10).join(screen.display)}")
        time.sleep(0.005)
    raise RuntimeError(f"{text!r} not on screen after {timeout} s: {chr(10).join(screen.display)}")


def spawn_to(args: list[str], text: str, env: dict[str, str], then: str = "") -> list[float]:
    """Seconds from spawn until ``text`` is on screen, and (if given) until ``then`` is."""
    with PtyDashboard(args, env) as program:
        times = [on_screen(program, text) - program.started]
        if then:
            times.append(on_screen(program, then) - program.started)
        return times


def modes(env: dict[str, str], home: Path) -> dict[str, dict[str, str]]:
    """The two ways Python may start: with the bytecode of every module cached, as after any
    earlier start on a user's machine (here in a folder of the run's own), and compiling every
    module from source at each start, as where ``PYTHONDONTWRITEBYTECODE`` is set (this
    project's shared machine sets it)."""
    cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(home / "bytecode")
    compiled = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
    compiled["PYTHONDONTWRITEBYTECODE"] = "1"
    return {"bytecode cached": cached, "compiled at every start": compiled}


def measure() -> tuple[dict[str, tuple[list[float], list[float]]], list[float], str, str]:
    """Per mode, the floor's and the dashboard's times; the times to every job counted."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        service = ServiceProcess(home / "service")
        fill_finished(service.data, CACHED)
        service.start()
        try:
            newest = fill_cache(service.root, home / "cache")
            envs = modes(dashboard_env(home), home)
            args = [*QJOB_TUI, "--source", service.root, "--refresh", f"{REFRESH:g}"]
            for env in envs.values():
                spawn_to(MINIMAL, LAST_ROW, env)  # warm the file cache (and the bytecode)
                spawn_to(args, newest, env)
            before = load()
            times: dict[str, tuple[list[float], list[float]]] = {m: ([], []) for m in envs}
            whole: list[float] = []
            for _ in range(REPEATS):
                for mode, env in envs.items():
                    floor, dashboard = times[mode]
                    floor += spawn_to(MINIMAL, LAST_ROW, env)
                    if mode == "bytecode cached":
                        # Then the status line's count of every cached job: the rest of the cache.
                        first, every = spawn_to(args, newest, env, then=f"done {CACHED}")
                        whole.append(every)
                    else:
                        (first,) = spawn_to(args, newest, env)
                    dashboard.append(first)
            after = load()
        finally:
            service.stop()
    return times, whole, before, after


def main() -> None:
    times, whole, before, after = measure()
    print(f"### Start-up in a terminal, {CACHED:,} cached jobs\n")
    print("| Measure | Median | Aim |")
    print("|---|---|---|")
    for mode, (floor, dashboard) in times.items():
        a, b = statistics.median(floor), statistics.median(dashboard)
        aim = "≤ 1.5" if mode == "bytecode cached" else ""
        print(
            f"| {mode}: (a) minimal Textual app, spawn to its 38th row (floor) |"
            f" {a * 1000:.0f} ms | |"
        )
        print(
            f"| {mode}: (b) `qjob-tui --source URL`, spawn to the newest cached job |"
            f" {b * 1000:.0f} ms | |"
        )
        print(f"| {mode}: ratio b/a | {b / a:.2f} | {aim} |")
    c = statistics.median(whole)
    print(f"| bytecode cached: (c) spawn to all {CACHED:,} jobs counted | {c * 1000:.0f} ms | |")
    runs = "; ".join(
        f"{mode}: floor {', '.join(f'{t * 1000:.0f}' for t in floor)} ms, dashboard "
        f"{', '.join(f'{t * 1000:.0f}' for t in dashboard)} ms"
        for mode, (floor, dashboard) in times.items()
    )
    print(
        f"\n_Alternating runs in one 120x40 pty, median of {REPEATS}: {runs}. Load average"
        f" {before} before, {after} after ({os.cpu_count()} cores)._"
    )


if __name__ == "__main__":
    sys.exit(main())
