"""A dashboard in a pseudo-terminal, and the services and caches to watch: the benches' kit.

``bench/startup_bench.py`` (spawn to first paint, against a minimal Textual app) and
``bench/terminal_bench.py`` (bytes to the terminal, against a changed-cell floor) run the real
``qjob-tui`` on a 120x40 pty with what is here: ``PtyDashboard`` keeps everything the dashboard
writes with its time, ``fill_cache`` gives it 10,000 cached jobs keyed as its store opens them,
``feeding`` keeps about 20 jobs active on a service, and ``where`` says which widget the bytes
went to. Not a benchmark itself (its name does not end in ``_bench``).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
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
