"""The whole dashboard: start-up with a warm cache, and bytes written to a real terminal.

Run as ``python bench/dashboard_bench.py`` (about 2 minutes). Prints a markdown table.

1. Time to the first painted list with 10,000 cached jobs. The real local service holds 10,000
   finished jobs; the dashboard's cache (``$XDG_CACHE_HOME/qjob-tui``, under the source name
   ``--source URL`` gives, the URL itself) holds the same jobs, as after an earlier session.
   - in-process: from constructing ``JobStore`` + ``QJobApp`` to the first frame in which the
     job list renders the newest cached job (``run_test`` at 120x40, in a fresh process each
     time, its imports done before the clock starts);
   - end to end: ``qjob-tui --source URL`` in a pseudo-terminal (120x40, TERM=xterm-256color),
     from spawning the process until the newest cached job id appears in its output (escape
     sequences stripped).
   Median of 3 each.
2. Bytes the dashboard writes to the terminal (120x40, 256 colours, ``--refresh 2``), on a
   service with 200 jobs that finished 3 days ago, and an empty cache:
   - first paint: everything written from the start until the output first rests for 0.5 s
     after the list shows;
   - idle: 30 s with nothing changing, scaled to a minute;
   - busy: 30 s while about 20 jobs are active on ``fake_lima``/``fake_perth`` and a feeder
     keeps topping them up, so that each 2 s poll sees about 20 jobs change (new, started,
     finished); the changes per 2 s are counted on the service and reported.
   Where the output goes is reported by widget (from the cursor moves in the stream and the
   widgets' regions), so a repaint of something that did not change stands out.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.http_helpers import sampler_body  # noqa: E402
from tests.service_process import ServiceProcess, fill_finished  # noqa: E402

WIDTH, HEIGHT = 120, 40
CACHED = 10_000
REPEATS = 3
IDLE_JOBS = 200
WINDOW = 30.0  # seconds measured, idle and busy
ACTIVE = 20
REFRESH = 2.0
_SCRIPT = Path(sys.executable).with_name("qjob-tui")
QJOB_TUI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "qjob_tui"]

_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1bP[^\x1b]*\x1b\\"  # DCS
    rb"|\x1b[@-Z\\-_=>78]"  # two-byte escapes
)
_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")


def visible_text(raw: bytes) -> str:
    return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")


# --- the dashboard's environment ---------------------------------------------------------------


def dashboard_env(home: Path) -> dict[str, str]:
    """A clean environment: own XDG folders, 256 colours, no theme or colour overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEXTUAL", "QJOB_TUI", "QISKIT_IBM"))
        and key not in ("COLORTERM", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")
    }
    env.update(
        TERM="xterm-256color",
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        PYTHONUNBUFFERED="1",
    )
    return env


def fill_old(data: Path, count: int, days: int = 3) -> str:
    """``count`` completed jobs that finished ``days`` ago, stored before the service starts.

    As ``fill_finished``, but old: "3 d ago" does not change while the idle output is measured
    (jobs of the last hour read "N min ago", and each visible row changes once a minute).
    Returns the newest job's id.
    """
    from datetime import UTC, datetime, timedelta

    from qjob_tui.service.db import Database, JobRow, iso

    params = json.dumps({"pubs": [["OPENQASM 2.0;", None, 100]], "version": 2})
    start = datetime.now(UTC) - timedelta(days=days, seconds=count)
    rows = []
    for i in range(count):
        at = iso(start + timedelta(seconds=i))
        row = JobRow.new("sampler", "basic_simulator", params, shots=100, tags=[f"t{i % 50}"])
        row.id = f"old{i:017d}"
        row.status = "Completed"
        row.created = row.queued = row.running = row.finished = at
        rows.append(row)
    data.mkdir(parents=True, exist_ok=True)
    db = Database(data / "jobs.sqlite3")
    db.insert_many(rows)
    db.close()
    return rows[-1].id


def fill_cache(root: str, cache_home: Path) -> str:
    """Put every job of the service into the dashboard's cache; return the newest job's id."""
    from qjob_tui.api import JobClient, Source
    from qjob_tui.store.cache import JobCache

    async def listed() -> tuple[str, list]:  # type: ignore[type-arg]
        async with JobClient(Source.local(root, name=root)) as client:
            return await client.identity(), [job async for job in client.iter_jobs()]

    identity, jobs = asyncio.run(listed())
    assert len(jobs) == CACHED, len(jobs)
    # Keyed by who the server is, as the dashboard's store opens it; the whole history known.
    folder = cache_home / "qjob-tui"
    with JobCache.for_source(root, folder, identity=identity) as cache:
        assert cache.save(jobs, [], {"history": "complete"})
        assert len(cache) == CACHED
    return max(jobs, key=lambda job: job.created).id


# --- a dashboard in a pseudo-terminal ----------------------------------------------------------


class PtyDashboard:
    """``qjob-tui`` on a 120x40 pseudo-terminal; everything it writes is kept with its time."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.args = args
        self.env = env
        self.chunks: list[tuple[float, bytes]] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.master = -1
        self.started = 0.0
        self._reader: threading.Thread | None = None

    def __enter__(self) -> PtyDashboard:
        master, slave = pty.openpty()
        self.master = master
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))

        def controlling_terminal() -> None:  # as sshd does: own session, the pty controls it
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                self.args,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self.env,
                cwd=ROOT,
                preexec_fn=controlling_terminal,
            )
        finally:
            os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the terminal's last user went away
                return
            if not data:
                return
            self.chunks.append((time.perf_counter(), data))

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    os.write(self.master, b"q")
                    self.proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        finally:
            if self.proc is not None and self.proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            if self._reader is not None:
                self._reader.join(timeout=5)
            os.close(self.master)

    def output(self, until: float | None = None) -> bytes:
        return b"".join(data for at, data in list(self.chunks) if until is None or at <= until)

    def wait_for_text(self, text: str, timeout: float = 30.0) -> float:
        """The time at which ``text`` first shows in the output (read before that moment)."""
        deadline = time.perf_counter() + timeout
        seen = 0
        while time.perf_counter() < deadline:
            chunks = list(self.chunks)
            if len(chunks) > seen:
                seen = len(chunks)
                if text in visible_text(b"".join(data for _, data in chunks)):
                    # The chunk in which it completed.
                    for count in range(1, len(chunks) + 1):
                        head = b"".join(data for _, data in chunks[:count])
                        if text in visible_text(head):
                            return chunks[count - 1][0]
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"qjob-tui exited: {visible_text(self.output())[-2000:]}")
            time.sleep(0.005)
        raise RuntimeError(f"{text!r} not shown after {timeout} s: {visible_text(self.output())}")

    def wait_quiet(self, after: float, quiet: float = 0.5, limit: float = 10.0) -> float:
        """The time of the last chunk before the output first rests ``quiet`` seconds."""
        deadline = after + limit
        while True:
            now = time.perf_counter()
            times = [at for at, _ in list(self.chunks) if at >= after]
            last = times[-1] if times else after
            if now - last >= quiet or now >= deadline:
                return last
            time.sleep(0.05)

    def bytes_between(self, start: float, end: float) -> int:
        return sum(len(data) for at, data in list(self.chunks) if start < at <= end)

    def places_between(self, start: float, end: float) -> Counter[tuple[int, int]]:
        """Bytes written per screen position (1-based row, column) moved to, in a window."""
        raw = b"".join(data for at, data in list(self.chunks) if start < at <= end)
        per_place: Counter[tuple[int, int]] = Counter()
        moves = list(_MOVE.finditer(raw))
        place: tuple[int, int] | None = None
        for number, move in enumerate(moves):
            stop = moves[number + 1].start() if number + 1 < len(moves) else len(raw)
            segment = raw[move.start() : stop]
            # Textual ends each line with a move past it and "\r\n": count that, and any
            # other move that writes nothing, with the text before it.
            if place is None or _ESCAPES.sub(b"", segment).strip(b"\r\n"):
                place = (int(move.group(1)), int(move.group(2)))
            per_place[place] += len(segment)
        return per_place


# --- 1. start-up with 10,000 cached jobs -------------------------------------------------------


def inprocess_child(root: str, cache_dir: str, newest: str) -> None:
    """In a fresh process: store + app constructed, until the list paints the newest job."""
    from textual.strip import Strip

    from qjob_tui.api import JobClient, Source
    from qjob_tui.store import JobStore, StoreConfig
    from qjob_tui.ui.app import QJobApp
    from qjob_tui.ui.job_list import JobList

    painted: list[float] = []
    render_lines = JobList.render_lines

    def spy(self: JobList, crop):  # type: ignore[no-untyped-def]
        lines: list[Strip] = render_lines(self, crop)
        if not painted and any(newest in strip.text for strip in lines):
            painted.append(time.perf_counter())
        return lines

    JobList.render_lines = spy  # type: ignore[method-assign]

    async def main() -> dict[str, object]:
        start = time.perf_counter()
        store = JobStore(
            [JobClient(Source.local(root, name=root))],
            StoreConfig(interval=REFRESH, calm_interval=10.0, cache_dir=Path(cache_dir)),
        )
        app = QJobApp(store)
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            deadline = time.perf_counter() + 30
            while not painted and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            assert painted, "the list never showed the newest cached job"
            await pilot.pause()
            # The list's scrollbar first: it lies inside the list's region.
            job_list = app.query_one(JobList)
            inner, content = job_list.scrollable_content_region, job_list.content_region
            bar = [inner.right, inner.y, content.right - inner.right, inner.height]
            regions = {"JobList scrollbar": bar}
            for widget in app.screen.query("JobList, JobDetail, QueuePane, StatusLine, Footer"):
                regions[type(widget).__name__] = list(widget.region)
            return {"took": painted[0] - start, "regions": regions, "rows": len(store.jobs)}

    print(json.dumps(asyncio.run(main())))


def inprocess(root: str, cache_dir: Path, newest: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--inprocess", root, str(cache_dir), newest],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def startup() -> tuple[list[float], list[float], dict[str, list[int]]]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        service = ServiceProcess(home / "service")
        fill_finished(service.data, CACHED)
        service.start()
        try:
            newest = fill_cache(service.root, home / "cache")
            env = dashboard_env(home)
            inside: list[float] = []
            regions: dict[str, list[int]] = {}
            for _ in range(REPEATS):
                result = inprocess(service.root, home / "cache" / "qjob-tui", newest, env)
                inside.append(float(result["took"]))  # type: ignore[arg-type]
                regions = result["regions"]  # type: ignore[assignment]
            outside: list[float] = []
            args = [*QJOB_TUI, "--source", service.root, "--refresh", f"{REFRESH:g}"]
            for _ in range(REPEATS):
                with PtyDashboard(args, env) as dashboard:
                    shown = dashboard.wait_for_text(newest)
                    outside.append(shown - dashboard.started)
        finally:
            service.stop()
    return inside, outside, regions


# --- 2. bytes to the terminal ------------------------------------------------------------------


class Feeder(threading.Thread):
    """Keeps about ``ACTIVE`` short jobs queued or running; counts changes per poll cycle."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.submitted = 0
        self.changes: list[tuple[float, int]] = []  # (time, jobs that changed in 2 s)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _run(self) -> None:
        backends = (("fake_lima", 800), ("fake_perth", 400))  # ~0.4 s of device time each
        previous: dict[str, str] | None = None
        next_count = time.perf_counter()
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self.stop.is_set():
                listed = http.get("/jobs", params={"pending": "true", "limit": 200}).json()
                pending = {job["id"]: job["status"] for job in listed["jobs"]}
                for _ in range(max(ACTIVE - listed["count"], 0)):
                    backend, shots = backends[self.submitted % 2]
                    body = sampler_body(backend=backend, shots=shots)
                    http.post("/jobs", json=body).raise_for_status()
                    self.submitted += 1
                now = time.perf_counter()
                if now >= next_count:
                    if previous is not None:
                        gone = previous.keys() - pending.keys()  # finished
                        new = pending.keys() - previous.keys()
                        moved = sum(1 for k, v in pending.items() if previous.get(k, v) != v)
                        self.changes.append((now, len(gone) + len(new) + moved))
                    previous = pending
                    next_count = now + REFRESH
                self.stop.wait(0.1)


@contextmanager
def feeding(url: str) -> Iterator[Feeder]:
    feeder = Feeder(url)
    feeder.start()
    try:
        yield feeder
    finally:
        feeder.stop.set()
        feeder.join(timeout=30)
    if feeder.error is not None:
        raise feeder.error


def bandwidth() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        service = ServiceProcess(home / "service")
        newest = fill_old(service.data, IDLE_JOBS)
        service.start()
        try:
            args = [*QJOB_TUI, "--source", service.root, "--refresh", f"{REFRESH:g}"]
            with PtyDashboard(args, dashboard_env(home)) as dashboard:
                shown = dashboard.wait_for_text(newest)
                settled = dashboard.wait_quiet(shown)
                first_paint = dashboard.bytes_between(0, settled)
                first_paint_s = shown - dashboard.started
                idle_start = max(settled, time.perf_counter())
                time.sleep(WINDOW)
                idle_end = time.perf_counter()
                idle = dashboard.bytes_between(idle_start, idle_end)
                idle_places = dashboard.places_between(idle_start, idle_end)
                idle_writes = sum(
                    1 for at, _ in list(dashboard.chunks) if idle_start < at <= idle_end
                )
                with feeding(service.url) as feeder:
                    # The store polls every 10 s while nothing is active, then every 2 s.
                    time.sleep(12)
                    busy_start = time.perf_counter()
                    time.sleep(WINDOW)
                    busy_end = time.perf_counter()
                    busy = dashboard.bytes_between(busy_start, busy_end)
                    busy_places = dashboard.places_between(busy_start, busy_end)
                    changes = [n for at, n in feeder.changes if busy_start < at <= busy_end]
        finally:
            service.stop()
    return {
        "first_paint": first_paint,
        "first_paint_s": first_paint_s,
        "idle_per_min": idle * 60 / (idle_end - idle_start),
        "idle_writes_per_min": idle_writes * 60 / (idle_end - idle_start),
        "idle_places": idle_places,
        "busy_per_min": busy * 60 / (busy_end - busy_start),
        "busy_places": busy_places,
        "changes_per_poll": statistics.mean(changes) if changes else 0.0,
    }


# --- report ------------------------------------------------------------------------------------


def kb(count: float) -> str:
    return f"{count / 1024:,.1f} KB"


def owner(row: int, column: int, regions: dict[str, list[int]]) -> str:
    """The widget at a 1-based screen position (regions are 0-based x, y, width, height)."""
    for name, (x, y, width, height) in regions.items():
        if x < column <= x + width and y < row <= y + height:
            return name
    return "?"


def where(places: Counter[tuple[int, int]], regions: dict[str, list[int]]) -> str:
    """Which widgets the bytes went to, the biggest first, with their screen rows."""
    total = sum(places.values())
    if not total:
        return "nothing"
    owners: Counter[str] = Counter()
    rows: dict[str, set[int]] = {}
    for (row, column), count in places.items():
        name = owner(row, column, regions)
        owners[name] += count
        rows.setdefault(name, set()).add(row)
    parts = []
    for name, count in owners.most_common(5):
        lines = sorted(rows[name])
        span = f"row {lines[0]}" if len(lines) == 1 else f"rows {lines[0]}-{lines[-1]}"
        parts.append(f"{name} {count / total:.0%} ({span})")
    return ", ".join(parts)


def main() -> None:
    inside, outside, regions = startup()
    b = bandwidth()
    rows = [
        (
            f"{CACHED:,} cached jobs: store + app to first painted list (in-process)",
            f"{statistics.median(inside) * 1000:.0f} ms",
            "< 1 s",
        ),
        (
            f"{CACHED:,} cached jobs: `qjob-tui` spawn to list on the terminal (pty)",
            f"{statistics.median(outside) * 1000:.0f} ms",
            "< 1 s",
        ),
        (
            f"first paint ({IDLE_JOBS} jobs, {b['first_paint_s']:.1f} s after spawn)",
            kb(b["first_paint"]),  # type: ignore[arg-type]
            "",
        ),
        (
            "terminal output per minute, idle",
            f"{kb(b['idle_per_min'])} ({b['idle_writes_per_min']:.0f} writes)",  # type: ignore[arg-type]
            "",
        ),
        (
            f"terminal output per minute, {ACTIVE} active jobs, "
            f"~{b['changes_per_poll']:.0f} changes per 2 s poll",
            kb(b["busy_per_min"]),  # type: ignore[arg-type]
            "",
        ),
    ]
    print(f"### Dashboard in a terminal, {WIDTH}x{HEIGHT}, 256 colours, `--refresh {REFRESH:g}`\n")
    print("| Measure | Value | Aim |")
    print("|---|---|---|")
    for name, value, aim in rows:
        print(f"| {name} | {value} | {aim} |")
    print()
    idle_places: Counter[tuple[int, int]] = b["idle_places"]  # type: ignore[assignment]
    busy_places: Counter[tuple[int, int]] = b["busy_places"]  # type: ignore[assignment]
    print(f"Idle output by widget: {where(idle_places, regions)}.  ")
    print(f"Busy output by widget: {where(busy_places, regions)}.")
    print(
        f"\n_Start-up: median of {REPEATS}, each in a fresh process; in-process runs "
        f"{', '.join(f'{t * 1000:.0f}' for t in inside)} ms, pty runs "
        f"{', '.join(f'{t * 1000:.0f}' for t in outside)} ms._"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inprocess"]:
        inprocess_child(*sys.argv[2:5])
    else:
        main()
