"""Bytes the dashboard writes to a terminal, against the changed-cell floor and htop.

Run as ``python bench/terminal_bench.py`` (about 2 minutes). Prints a markdown table.

The dashboard runs in a pseudo-terminal (120x40, TERM=xterm-256color, ``--refresh 2``) on a
service with 200 jobs that finished 3 days ago, and an empty cache:
- first paint: everything written from the start until the output first rests for 0.5 s after
  the list shows;
- idle: 30 s with nothing changing, scaled to a minute;
- busy: 30 s while about 20 jobs are active on ``fake_lima``/``fake_perth`` and a feeder keeps
  topping them up, so that each 2 s poll sees about 20 jobs change (new, started, finished).
  The cursor stays on its job, so the list scrolls as new jobs arrive above it;
- busy, active jobs listed: then ``a`` (only active jobs), 3 s, and 30 s more: every row on
  screen changes, appears or goes, and the job in the detail pane finishes every few seconds,
  each time with a notification (Textual's toasts, which repaint their whole stack when one
  comes or goes).

The floor comes from the same bytes: they are replayed through ``pyte`` (a terminal emulator),
each chunk read from the terminal taken as a frame, and every cell whose character or colours
differ from the frame before counts as changed. A minimal writer would send, per frame and per
run of changed cells on a line, one cursor move (or the unchanged cells up to the run, if fewer
bytes), an SGR sequence where the colours differ from the ones it last set (the shorter of a
reset and the changed attributes), and the characters: those bytes per minute are the floor,
and the dashboard's bytes are given as a ratio of it.
htop, where installed, runs in the same kind of pseudo-terminal for the same 30 s (after 3 s
for its first paint) with its default 1.5 s delay and with ``-d 20`` (2 s, as the dashboard).
Where the dashboard's bytes go is reported by widget, from the cursor moves in the stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyte
from pyte.graphics import FG_BG_256

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pty_dashboard import (  # noqa: E402
    ACTIVE,
    HEIGHT,
    IDLE_JOBS,
    QJOB_TUI,
    REFRESH,
    WIDTH,
    WINDOW,
    PtyDashboard,
    dashboard_env,
    feeding,
    fill_old,
    kb,
    where,
)

from tests.service_process import ServiceProcess  # noqa: E402

HTOP_SETTLE = 3.0  # seconds for htop's first paint, left out of its figure
ACTIVE_SETTLE = 3.0  # seconds after ``a`` (the active filter) before measuring again
AIM_RATIO = 4.0  # at most this many times the floor
AIM_HTOP = 0.5  # below this fraction of htop's bytes


# --- the floor: changed cells replayed through a terminal emulator ------------------------------


@dataclass
class Floor:
    """What a minimal writer would need for the cells that changed, frame after frame."""

    frames: int = 0
    cells: int = 0
    bytes: int = 0


_NAMED_FG = {name: code for code, name in pyte.graphics.FG_ANSI.items()}
_NAMED_BG = {name: code for code, name in pyte.graphics.BG_ANSI.items()}
_NAMED_FG.update({name: code for code, name in pyte.graphics.FG_AIXTERM.items()})
_NAMED_BG.update({name: code for code, name in pyte.graphics.BG_AIXTERM.items()})
_INDEX_256: dict[str, int] = {}
for _index, _hex in enumerate(FG_BG_256):
    _INDEX_256.setdefault(_hex, _index)  # the lowest index: the fewest digits
_FLAGS = (("bold", 1, 22), ("italics", 3, 23), ("underscore", 4, 24), ("blink", 5, 25))
_FLAGS += (("reverse", 7, 27), ("strikethrough", 9, 29))


def _colour(value: str, background: bool) -> str:
    if value == "default":
        return "49" if background else "39"
    named = (_NAMED_BG if background else _NAMED_FG).get(value)
    if named is not None:
        return str(named)
    lead = "48" if background else "38"
    if value in _INDEX_256:
        return f"{lead};5;{_INDEX_256[value]}"
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"{lead};2;{red};{green};{blue}"


def sgr_bytes(pen: pyte.screens.Char | None, cell: pyte.screens.Char) -> int:
    """The bytes of the shortest of a full SGR and one with only what changed (0 if none)."""
    full = ["0"] + [str(on) for name, on, _ in _FLAGS if getattr(cell, name)]
    if cell.fg != "default":
        full.append(_colour(cell.fg, False))
    if cell.bg != "default":
        full.append(_colour(cell.bg, True))
    options = [full]
    if pen is not None:
        delta = [
            str(on if getattr(cell, name) else off)
            for name, on, off in _FLAGS
            if getattr(cell, name) != getattr(pen, name)
        ]
        if cell.fg != pen.fg:
            delta.append(_colour(cell.fg, False))
        if cell.bg != pen.bg:
            delta.append(_colour(cell.bg, True))
        if not delta:
            return 0
        options.append(delta)
    return min(len(f"\x1b[{';'.join(params)}m") for params in options)


def _style(cell: pyte.screens.Char) -> tuple[object, ...]:
    return tuple(cell[1:])


def _move_bytes(cursor: tuple[int, int] | None, y: int, x: int) -> int:
    """The shortest of an absolute move and, on the same line, a move right (0 if there)."""
    if cursor == (y, x):
        return 0
    absolute = len(f"\x1b[{y + 1};{x + 1}H")
    if cursor is not None and cursor[0] == y and cursor[1] < x:
        return min(absolute, len(f"\x1b[{x - cursor[1]}C"))
    return absolute


def _cells_bytes(
    cells: list[pyte.screens.Char], pen: pyte.screens.Char | None
) -> tuple[int, pyte.screens.Char | None]:
    """The bytes to write these cells from this pen, and the pen after them."""
    total = 0
    for cell in cells:
        if pen is None or _style(cell) != _style(pen):
            total += sgr_bytes(pen, cell)
            pen = cell
        total += len(cell.data.encode())
    return total, pen


def floor_of(chunks: list[tuple[float, bytes]], start: float, end: float) -> Floor:
    """Replay everything up to ``start``, then count the frames' changes up to ``end``.

    The minimal writer keeps its cursor and colours from one write to the next, and between
    two changed runs on a line either moves (the shorter of an absolute move and a move right)
    or writes the unchanged cells between them, whichever takes fewer bytes.
    """
    screen = pyte.Screen(WIDTH, HEIGHT)
    stream = pyte.ByteStream(screen)
    for at, data in chunks:
        if at <= start:
            stream.feed(data)
    shown = [[screen.buffer[y][x] for x in range(WIDTH)] for y in range(HEIGHT)]
    screen.dirty.clear()
    floor = Floor()
    pen: pyte.screens.Char | None = None
    cursor: tuple[int, int] | None = None
    for at, data in chunks:
        if not start < at <= end:
            continue
        stream.feed(data)
        floor.frames += 1
        for y in sorted(screen.dirty):
            if not 0 <= y < HEIGHT:
                continue
            before, after = shown[y], [screen.buffer[y][x] for x in range(WIDTH)]
            x = 0
            while x < WIDTH:
                if after[x] == before[x]:
                    x += 1
                    continue
                run_end = x
                while run_end < WIDTH and after[run_end] != before[run_end]:
                    run_end += 1
                move = _move_bytes(cursor, y, x)
                if cursor is not None and cursor[0] == y and cursor[1] < x:
                    gap, gap_pen = _cells_bytes(after[cursor[1] : x], pen)
                    if gap < move:
                        move, pen = gap, gap_pen
                written, pen = _cells_bytes(after[x:run_end], pen)
                floor.bytes += move + written
                floor.cells += run_end - x
                cursor = (y, run_end)
                x = run_end
            shown[y] = after
        screen.dirty.clear()
    return floor


# --- where the widgets are ---------------------------------------------------------------------


def regions_child(root: str, cache_dir: str) -> None:
    """In a fresh process: the dashboard at 120x40 on the service, its widgets' regions."""
    from qjob_tui.api import JobClient, Source
    from qjob_tui.store import JobStore, StoreConfig
    from qjob_tui.ui.app import QJobApp
    from qjob_tui.ui.jobs.job_list import JobList

    async def main() -> dict[str, list[int]]:
        store = JobStore(
            [JobClient(Source.local(root, name=root))],
            StoreConfig(interval=REFRESH, calm_interval=10.0, cache_dir=Path(cache_dir)),
        )
        app = QJobApp(store)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            job_list = app.query_one(JobList)
            deadline = time.perf_counter() + 30
            while len(job_list.rows) < IDLE_JOBS and time.perf_counter() < deadline:
                await pilot.pause(0.05)
            await pilot.pause()
            # The list's scrollbar first: it lies inside the list's region.
            inner, content = job_list.scrollable_content_region, job_list.content_region
            bar = [inner.right, inner.y, content.right - inner.right, inner.height]
            regions = {"JobList scrollbar": bar}
            for widget in app.screen.query("JobList, JobDetail, QueuePane, StatusLine, Footer"):
                regions[type(widget).__name__] = list(widget.region)
            return regions

    print(json.dumps(asyncio.run(main())))


def regions(root: str, home: Path) -> dict[str, list[int]]:
    done = subprocess.run(
        [sys.executable, __file__, "--regions", root, str(home / "regions-cache")],
        capture_output=True,
        text=True,
        env=dashboard_env(home),
        cwd=ROOT,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


# --- the dashboard -----------------------------------------------------------------------------


def dashboard() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        service = ServiceProcess(home / "service")
        newest = fill_old(service.data, IDLE_JOBS)
        service.start()
        try:
            places = regions(service.root, home)
            args = [*QJOB_TUI, "--source", service.root, "--refresh", f"{REFRESH:g}"]
            with PtyDashboard(args, dashboard_env(home)) as shown:
                painted = shown.wait_for_text(newest)
                settled = shown.wait_quiet(painted)
                first_paint = shown.bytes_between(0, settled)
                idle_start = max(settled, time.perf_counter())
                time.sleep(WINDOW)
                idle_end = time.perf_counter()
                with feeding(service.url) as feeder:
                    # The store polls every 10 s while nothing is active, then every 2 s.
                    time.sleep(12)
                    busy_start = time.perf_counter()
                    time.sleep(WINDOW)
                    busy_end = time.perf_counter()
                    os.write(shown.master, b"a")  # only the active jobs: the list is all change
                    time.sleep(ACTIVE_SETTLE)
                    active_start = time.perf_counter()
                    time.sleep(WINDOW)
                    active_end = time.perf_counter()
                    changes = [n for at, n in feeder.changes if busy_start < at <= active_end]
                chunks = list(shown.chunks)
                idle = shown.bytes_between(idle_start, idle_end)
                busy = shown.bytes_between(busy_start, busy_end)
                active = shown.bytes_between(active_start, active_end)
                idle_places = shown.places_between(idle_start, idle_end)
                busy_places = shown.places_between(busy_start, busy_end)
                active_places = shown.places_between(active_start, active_end)
        finally:
            service.stop()
    floor = floor_of(chunks, busy_start, busy_end)
    active_floor = floor_of(chunks, active_start, active_end)
    minute = 60 / (busy_end - busy_start)
    active_minute = 60 / (active_end - active_start)
    return {
        "active_per_min": active * active_minute,
        "active_floor_per_min": active_floor.bytes * active_minute,
        "active_cells_per_min": active_floor.cells * active_minute,
        "active_where": where(active_places, places),
        "first_paint": first_paint,
        "first_paint_s": painted - shown.started,
        "idle_per_min": idle * 60 / (idle_end - idle_start),
        "idle_floor": floor_of(chunks, idle_start, idle_end).bytes * 60 / (idle_end - idle_start),
        "busy_per_min": busy * minute,
        "floor_per_min": floor.bytes * minute,
        "floor_cells_per_min": floor.cells * minute,
        "frames_per_min": floor.frames * minute,
        "changes_per_poll": statistics.mean(changes) if changes else 0.0,
        "idle_where": where(idle_places, places),
        "busy_where": where(busy_places, places),
    }


# --- htop at the same size ---------------------------------------------------------------------


def htop(delay: int | None) -> dict[str, float] | None:
    """htop's bytes and floor per minute in the same pseudo-terminal, or None if not installed."""
    program = shutil.which("htop")
    if program is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        env = dashboard_env(Path(tmp))
        env["HOME"] = tmp  # no htoprc of the user's
        args = [program] if delay is None else [program, "-d", str(delay)]
        with PtyDashboard(args, env) as shown:
            time.sleep(HTOP_SETTLE)
            start = time.perf_counter()
            time.sleep(WINDOW)
            end = time.perf_counter()
            chunks = list(shown.chunks)
            written = shown.bytes_between(start, end)
    minute = 60 / (end - start)
    return {
        "per_min": written * minute,
        "floor_per_min": floor_of(chunks, start, end).bytes * minute,
    }


# --- report ------------------------------------------------------------------------------------


def _uptime() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main() -> None:
    load_before = _uptime()
    d = dashboard()
    tops = {"default delay (1.5 s)": htop(None), "`-d 20` (2 s)": htop(20)}
    load_after = _uptime()
    busy, floor = float(d["busy_per_min"]), float(d["floor_per_min"])  # type: ignore[arg-type]
    ratio = busy / floor if floor else float("inf")
    active, active_floor = float(d["active_per_min"]), float(d["active_floor_per_min"])  # type: ignore[arg-type]
    active_ratio = active / active_floor if active_floor else float("inf")
    top = tops["default delay (1.5 s)"]
    rows = [
        (
            f"first paint ({IDLE_JOBS} jobs, {d['first_paint_s']:.1f} s after spawn)",
            kb(d["first_paint"]),  # type: ignore[arg-type]
            "",
        ),
        ("output per minute, idle", kb(d["idle_per_min"]), "0"),  # type: ignore[arg-type]
        (
            f"output per minute, {ACTIVE} active jobs, "
            f"~{d['changes_per_poll']:.0f} changes per 2 s poll",
            kb(busy),
            "",
        ),
        (
            f"floor: {d['floor_cells_per_min']:,.0f} changed cells per minute "
            f"in {d['frames_per_min']:,.0f} frames, with cursor moves and colours",
            kb(floor),
            "",
        ),
        ("dashboard / floor", f"{ratio:.1f}x", f"<= {AIM_RATIO:g}x"),
        (
            "the same, with only the active jobs listed (`a`): output per minute",
            kb(active),
            "",
        ),
        (
            f"floor: {d['active_cells_per_min']:,.0f} changed cells per minute",
            kb(active_floor),
            "",
        ),
        ("dashboard / floor, active jobs listed", f"{active_ratio:.1f}x", ""),
    ]
    for name, result in tops.items():
        if result is None:
            rows.append((f"htop, {name}", "htop not installed", ""))
            continue
        rows.append(
            (
                f"htop, {name} (its own floor {kb(result['floor_per_min'])})",
                kb(result["per_min"]),
                "",
            )
        )
    if top is not None:
        rows.append(
            (
                "dashboard / htop (default delay)",
                f"{busy / top['per_min']:.2f}",
                f"< {AIM_HTOP:g}",
            )
        )
    print(f"### Terminal bytes, {WIDTH}x{HEIGHT}, 256 colours, `--refresh {REFRESH:g}`\n")
    print("| Measure | Value | Aim |")
    print("|---|---|---|")
    for name, value, aim in rows:
        print(f"| {name} | {value} | {aim} |")
    print()
    print(f"Idle output by widget: {d['idle_where']}.  ")
    print(f"Busy output by widget: {d['busy_where']}.  ")
    print(f"Busy output by widget, active jobs listed: {d['active_where']}.")
    print(f"\n_Load average (1 min) {load_before} before, {load_after} after._")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--regions"]:
        regions_child(*sys.argv[2:4])
    else:
        main()
