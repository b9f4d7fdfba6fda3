"""Start-up: the newest screenful of the cache first, the rest after; no heavy import before.

Mechanisms, not timings (those are in ``bench/startup_bench.py``): the first read of the cache
is a LIMIT read of the newest jobs, the older ones arrive after it and the list ends with every
job in order, the cursor and the view where they were; the first paint happens before httpx,
numpy, qiskit or dateutil are imported; a qjob-tui service is identified without httpx; parsing
the command line loads no other subcommand; the panes hidden at start mount after the first
frame, and a key typed before they are there waits for them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from textual import events

from qjob_tui.api import JobClient, Source, version_probe
from qjob_tui.model import Job, JobStatus
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.cache import JobCache
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.dashboard import DashboardScreen
from qjob_tui.ui.jobs.job_list import JobList
from tests.service_process import ServiceProcess
from tests.test_app import until

ROOT = Path(__file__).resolve().parents[1]
CACHED = 1_000
FIRST = 40
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def cached_jobs(source: str) -> list[Job]:
    """Finished jobs a second apart, oldest first; some share a second (ids break the tie)."""
    return [
        Job(
            id=f"job{i:05d}",
            source=source,
            status=JobStatus.DONE,
            created=T0 + timedelta(seconds=i - i % 3),
            backend="basic_simulator",
            tags=(f"t{i % 7}",),
        )
        for i in range(CACHED)
    ]


async def fill_cache(service: ServiceProcess, folder: Path) -> list[Job]:
    """The cache of ``service`` (as its store opens it: keyed by who it is), whole history."""
    async with JobClient(Source.local(service.root)) as client:
        identity = await client.identity()
    jobs = cached_jobs("local")
    with JobCache.for_source("local", folder, identity=identity) as cache:
        assert cache.save(jobs, [], {"history": "complete"})
    return jobs


def newest_first(jobs: list[Job]) -> list[str]:
    return [job.id for job in sorted(jobs, key=lambda j: (j.created, j.id), reverse=True)]


class CacheReads:
    """Every read of cached jobs, in order: ("newest", limit) or ("older", position)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, object]] = []
        newest, older = JobCache.newest, JobCache.older

        def spy_newest(cache: JobCache, limit: int):  # type: ignore[no-untyped-def]
            self.calls.append(("newest", limit))
            return newest(cache, limit)

        def spy_older(cache: JobCache, position):  # type: ignore[no-untyped-def]
            self.calls.append(("older", position))
            return older(cache, position)

        monkeypatch.setattr(JobCache, "newest", spy_newest)
        monkeypatch.setattr(JobCache, "older", spy_older)


def test_newest_and_older_read_every_row_once_in_order(tmp_path: Path) -> None:
    jobs = cached_jobs("s")
    with JobCache(tmp_path / "c.sqlite3") as cache:
        cache.put(jobs)
        first, position = cache.newest(FIRST)
        rest = cache.older(position)
        assert len(first) == FIRST
        assert [j.id for j in first + rest] == newest_first(jobs) == [j.id for j in cache.load()]
        assert cache.older(None) == cache.load()
        empty = JobCache(tmp_path / "empty.sqlite3")
        assert empty.newest(FIRST) == ([], None)
        empty.close()


@pytest.mark.parametrize("prefetch", [False, True], ids=["in-open", "prefetched"])
async def test_the_first_screenful_is_a_limited_read_and_the_rest_follows(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefetch: bool
) -> None:
    jobs = await fill_cache(service, tmp_path / "cache")
    reads = CacheReads(monkeypatch)
    config = StoreConfig(cache_dir=tmp_path / "cache", first_page=FIRST, use_stream=False)
    store = JobStore([JobClient(Source.local(service.root))], config)
    published: list[tuple[list[tuple[str, object]], ChangeSet]] = []
    store.subscribe(lambda changes: published.append((list(reads.calls), changes)))
    try:
        if prefetch:  # as the dashboard does: in a thread, before its event loop runs
            store.prefetch()
            while reads.calls != [("newest", FIRST)]:
                await asyncio.sleep(0.01)
            assert published == []  # read, not shown: that is open's part
        await store.open()
        assert reads.calls == [("newest", FIRST)]
        assert len(store.jobs) == FIRST  # the rest is not read yet
        await store.start(poll=False)
        assert [name for name, _ in reads.calls] == ["newest", "older"]
        (before_first, first), (before_rest, rest) = [(r, c) for r, c in published if c.added]
        assert before_first == [("newest", FIRST)] and len(before_rest) == 2
        # Newest first, each job once, every cached job known before any poll.
        ids = [job.id for job in (*first.added, *rest.added)]
        assert ids == newest_first(jobs)
        assert {job.id for job in store.all_jobs()} == {job.id for job in jobs}
        await store.poll_once()
        health = store.health[0]
        assert health.loaded == CACHED and health.total is None  # the history is whole
    finally:
        await store.stop()


async def test_the_list_grows_below_the_first_screenful_without_moving(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = await fill_cache(service, tmp_path / "cache")
    reads = CacheReads(monkeypatch)
    painted: list[tuple[int, list[tuple[str, object]]]] = []
    render_lines = JobList.render_lines
    order = newest_first(jobs)

    def spy(self: JobList, crop):  # type: ignore[no-untyped-def]
        lines = render_lines(self, crop)
        if not painted and any(order[0] in strip.text for strip in lines):
            painted.append((len(self.rows), list(reads.calls)))
        return lines

    monkeypatch.setattr(JobList, "render_lines", spy)
    config = StoreConfig(cache_dir=tmp_path / "cache", first_page=FIRST, use_stream=False)
    store = JobStore([JobClient(Source.local(service.root))], config)
    app = QJobApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        while len(job_list.rows) < CACHED:
            await pilot.pause(0.05)
        await pilot.pause()
        # The first frame with the newest job showed the first screenful only, read alone.
        assert painted == [(FIRST, [("newest", FIRST)])]
        assert [job.id for job in job_list.rows] == order
        assert job_list.cursor_key == ("local", order[0])
        assert job_list.scroll_offset.y == 0


async def test_a_prefetch_ready_before_the_app_runs_is_in_its_first_frame(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's case: the cache was read while it imported. Its first frame holds the
    jobs (it painted an empty list first, then the jobs in a second frame)."""
    jobs = await fill_cache(service, tmp_path / "cache")
    first_frame: list[str] = []
    render_lines = JobList.render_lines

    def spy(self: JobList, crop):  # type: ignore[no-untyped-def]
        lines = render_lines(self, crop)
        if not first_frame and lines:
            first_frame.append("\n".join(strip.text for strip in lines))
        return lines

    monkeypatch.setattr(JobList, "render_lines", spy)
    config = StoreConfig(cache_dir=tmp_path / "cache", use_stream=False)
    store = JobStore([JobClient(Source.local(service.root))], config)
    store.prefetch()  # as ``qjob-tui`` does
    async with asyncio.timeout(30):
        while not all(poller.cached.ready_early() for poller in store.pollers.values()):
            await asyncio.sleep(0.01)
    app = QJobApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        while not first_frame:
            await pilot.pause(0.05)
        assert newest_first(jobs)[0] in first_frame[0]
        assert "Asking" not in first_frame[0]


FIRST_PAINT = """
import asyncio, json, sys
from pathlib import Path
from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.jobs.job_list import JobList

root, folder, newest = sys.argv[1:4]
at_first_paint = []
render_lines = JobList.render_lines

def spy(self, crop):
    lines = render_lines(self, crop)
    if not at_first_paint and any(newest in strip.text for strip in lines):
        at_first_paint.append(sorted(sys.modules))
    return lines

JobList.render_lines = spy

async def main() -> None:
    store = JobStore([JobClient(Source.local(root))], StoreConfig(cache_dir=Path(folder)))
    store.prefetch()  # as ``qjob-tui`` does
    app = QJobApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        while not at_first_paint or not store.health[0].last_success:
            await pilot.pause(0.05)
        await pilot.pause()
    print(json.dumps({"first_paint": at_first_paint[0], "later": sorted(sys.modules)}))

asyncio.run(main())
"""

HEAVY = ("numpy", "httpx", "qiskit", "dateutil", "scipy", "asyncssh")


def test_the_first_paint_comes_before_httpx_numpy_and_qiskit(
    service: ServiceProcess, tmp_path: Path
) -> None:
    jobs = asyncio.run(fill_cache(service, tmp_path / "cache"))
    newest = newest_first(jobs)[0]
    done = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT, service.root, str(tmp_path / "cache"), newest],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modules = json.loads(done.stdout.splitlines()[-1])
    first, later = set(modules["first_paint"]), set(modules["later"])
    assert "qjob_tui.ui.app" in first and "textual" in first
    assert [name for name in HEAVY if name in first] == []
    # The check can fail: the first poll, after the paint, brings httpx and dateutil's parser.
    assert "httpx" in later and "dateutil.parser" in later


async def test_a_qjob_tui_service_is_identified_without_httpx(service: ServiceProcess) -> None:
    client = JobClient(Source.local(service.root))
    try:
        identity = await client.identity()
        assert "_http" not in client.__dict__  # no httpx client was built to ask
        body = await client._http.json("GET", "/version")  # the full client, now
        assert identity == f"qjob-tui {body['instance_id']}"
        assert client.stats.requests == 2  # the quick question counts as one
    finally:
        await client.aclose()


def test_the_quick_question_leaves_anything_unusual_to_the_full_client(
    service: ServiceProcess,
) -> None:
    assert version_probe.applies("http://127.0.0.1:1/api/v1", {})
    assert not version_probe.applies("https://example.com/api/v1", {})
    assert not version_probe.applies("http://user:pw@127.0.0.1:1/api/v1", {})
    assert not version_probe.applies("http://127.0.0.1:1/api/v1", {"HTTP_PROXY": "http://p:3"})
    assert not version_probe.applies("http://127.0.0.1:1/api/v1", {"all_proxy": "socks5://p"})
    # Nothing listening, or not the API there: no answer, so the full client asks.
    assert version_probe.qjob_tui_instance("http://127.0.0.1:9/api/v1", {}) == (None, 0)
    instance, _ = version_probe.qjob_tui_instance(f"{service.root}/nowhere", {})
    assert instance is None
    instance, received = version_probe.qjob_tui_instance(service.url, {})
    assert instance and received > 0


def test_the_collector_runs_again_once_the_dashboard_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Start-up turns the cyclic collector off for its imports: never for the app's life."""
    import gc

    from qjob_tui.cli import dashboard
    from qjob_tui.cli.main import main

    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name))
    seen: list[bool] = []
    monkeypatch.setattr(dashboard, "_start_watchdog", lambda: None)
    monkeypatch.setattr(QJobApp, "run", lambda self, **options: seen.append(gc.isenabled()))
    try:
        assert main(["--source", "http://127.0.0.1:9"]) == 0
        assert seen == [True]
        assert gc.isenabled()
    finally:
        gc.unfreeze()


PARSER_ONLY = """
import sys
from qjob_tui.cli.main import build_parser

build_parser().parse_args(["--source", "http://127.0.0.1:9"])
print(" ".join(sorted(sys.modules)))
"""

# Modules of the other subcommands (and what only they use): the dashboard needs none of them.
OTHER_COMMANDS = (
    "qjob_tui.cli.commands",
    "qjob_tui.cli.watch",
    "qjob_tui.cli.usage",
    "qjob_tui.export",
    "dateutil",
    "csv",
)


def test_parsing_the_command_line_loads_no_subcommand(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PARSER_ONLY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modules = set(done.stdout.split())
    assert "argparse" in modules and "qjob_tui.cli.main" in modules
    assert [name for name in OTHER_COMMANDS if name in modules] == []


HIDDEN_PANES = "#sessions, #session-detail, #filter"


def idle_app() -> QJobApp:
    """A dashboard on a source that does not answer: what it shows comes from itself alone."""
    store = JobStore([JobClient(Source.local("http://127.0.0.1:9"))], StoreConfig(use_cache=False))
    return QJobApp(store)


async def test_the_first_frame_leaves_out_the_panes_it_hides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The grouped view, a session's detail and the filter box are hidden at start: they mount
    after the first frame, in their places."""
    at_first_paint: list[int] = []
    render_lines = JobList.render_lines

    def spy(self: JobList, crop):  # type: ignore[no-untyped-def]
        if not at_first_paint:
            at_first_paint.append(len(self.screen.query(HIDDEN_PANES)))
        return render_lines(self, crop)

    monkeypatch.setattr(JobList, "render_lines", spy)
    app = idle_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        while not screen.whole.is_set():
            await pilot.pause()
        assert at_first_paint == [0]

        def ids(selector: str) -> list[str | None]:
            return [widget.id for widget in screen.query_one(selector).children]

        assert ids("#body") == ["jobs", "sessions", "side"]
        assert ids("#side") == ["detail", "session-detail", "queue"]
        assert [widget.id for widget in screen.children][:3] == ["body", "filter", "status"]
        assert not screen.query_one("#filter").display
        assert not screen.query_one("#sessions").display


async def test_a_key_typed_before_the_hidden_panes_mount_waits_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "/" typed ahead, while the filter box is not mounted yet: the app holds it (no error,
    nothing else acts on it) and opens the box once it is there."""
    release = asyncio.Event()
    mount_unseen = DashboardScreen._mount_unseen
    later: list[asyncio.Task[None]] = []

    async def held(self: DashboardScreen) -> None:  # off the screen's queue: it stays free
        async def mount() -> None:
            await release.wait()
            await mount_unseen(self)

        later.append(asyncio.create_task(mount()))

    monkeypatch.setattr(DashboardScreen, "_mount_unseen", held)
    app = idle_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        job_list = app.query_one(JobList)
        await pilot.pause()
        assert job_list.has_focus and not screen.query(HIDDEN_PANES)
        holding: list[bool] = []
        wait = screen.whole.wait

        async def held_input() -> Literal[True]:
            holding.append(True)
            return await wait()

        monkeypatch.setattr(screen.whole, "wait", held_input)
        app.post_message(events.Key("slash", "/"))
        while not holding:  # (no pilot.pause: it waits for the app, which holds the key)
            await asyncio.sleep(0.01)
        assert job_list.has_focus and not screen.query(HIDDEN_PANES)
        release.set()
        await until(pilot, lambda: bool(screen.query("#filter")) and screen.filter_box.has_focus)
        assert screen.filter_box.display and app.screen is screen
