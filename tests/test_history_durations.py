"""Finished jobs listed from history show their duration: the list answer has no running or
finished time (only the metrics do), so the rows in view have their details read, once each,
and the rows out of view none (10,000 jobs are not 10,000 requests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.service.db import Database, JobRow, iso
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.jobs.job_rows import Column
from tests.held_proxy import HeldProxy
from tests.service_process import ServiceProcess
from tests.test_app import cell_text, make_app, until

COUNT = 400
RAN = 7  # seconds each job ran
BOUND = 4  # reads of steps in flight at once, for the whole store (StoreConfig's default)


def _fill(data: Path, ran: int) -> None:
    """``COUNT`` finished jobs, the same ids on every server, each having run ``ran`` s."""
    db = Database(data / "jobs.sqlite3")
    params = json.dumps({"pubs": [["OPENQASM 2.0;", None, 100]], "version": 2})
    start = datetime.now(UTC) - timedelta(hours=2)
    rows = []
    for i in range(COUNT):
        row = JobRow.new("sampler", "basic_simulator", params, shots=100)
        row.id = f"ran{i:017d}"
        row.status = "Completed"
        created = start + timedelta(seconds=10 * i)
        row.created = row.queued = iso(created)
        row.running = iso(created + timedelta(seconds=1))
        row.finished = iso(created + timedelta(seconds=1 + ran))
        rows.append(row)
    db.insert_many(rows)
    db.close()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("history-durations")
    _fill(data, RAN)
    proc = ServiceProcess(data).start()
    yield proc
    proc.stop()


async def test_rows_in_view_show_their_duration(history: ServiceProcess, tmp_path: Path) -> None:
    app = make_app(history, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        await until(pilot, lambda: len(job_list.rows) >= 100)
        page = job_list.scrollable_content_region.height - 1
        assert page > 5
        in_view = range(page)
        await until(
            pilot,
            lambda: all(cell_text(job_list, row, Column.DURATION) == f"{RAN} s" for row in in_view),
        )
        # Far below the view: never read.
        far = job_list.rows.key_at(len(job_list.rows) - 1)
        job = app.store.job(far)
        assert job is not None and job.step_time("running") is None
        await pilot.press("pagedown")
        await until(
            pilot,
            lambda: all(
                cell_text(job_list, row, Column.DURATION) == f"{RAN} s"
                for row in range(job_list.scroll_offset.y, job_list.scroll_offset.y + page)
            ),
        )


# The newest job: under the cursor at start, its details read by the detail pane (the job on
# screen is read whatever its steps; the bound is on the reads for the list's durations).
NEWEST = f"ran{COUNT - 1:017d}"


def _through(proxy: HeldProxy) -> QJobApp:
    store = JobStore(
        [JobClient(Source.local(proxy.root))],
        StoreConfig(interval=0.2, calm_interval=0.2, use_cache=False, use_stream=False),
    )
    return QJobApp(store)  # type: ignore[arg-type]


def _view(job_list: JobList) -> range:
    top = job_list.scroll_offset.y
    return range(top, top + job_list.scrollable_content_region.height - 1)


def _told(app: QJobApp) -> frozenset[str]:
    """The job ids the store knows to be in view."""
    poller = next(iter(app.store.pollers.values()))
    steps = getattr(poller, "steps", None)
    return steps.viewed if steps is not None else frozenset()


async def test_reads_in_flight_never_pass_the_bound(history: ServiceProcess) -> None:
    """The proxy holds every metrics request: the first view's reads fill the bound, and a
    second view's wait for it (counted at the proxy, not timed)."""
    with HeldProxy(history.root, ignore=frozenset({NEWEST})) as proxy:
        app = _through(proxy)
        async with app.run_test(size=(120, 40)) as pilot:
            job_list = app.query_one(JobList)
            await until(pilot, lambda: len(job_list.rows) >= 100)
            await until(pilot, lambda: proxy.in_flight >= BOUND)
            # The view moves, the cursor stays (as a mouse wheel scrolls).
            job_list.scroll_to(y=len(_view(job_list)), animate=False, force=True)
            await pilot.pause()
            below = {job_list.rows.key_at(i)[1] for i in _view(job_list)}  # type: ignore[index]
            # Either the store knows the new view (and then asks nothing past the bound), or
            # more requests than the bound arrive.
            await until(pilot, lambda: proxy.in_flight > BOUND or below <= _told(app))
            assert proxy.in_flight == BOUND
            proxy.release()
            await until(
                pilot,
                lambda: all(
                    cell_text(job_list, row, Column.DURATION) == f"{RAN} s"
                    for row in _view(job_list)
                ),
            )
            assert proxy.most == BOUND
            assert len(proxy.asked) == len(set(proxy.asked))  # each job once
            assert StoreConfig().steps_at_once == BOUND


async def test_another_server_at_the_address_has_its_durations_read(
    history: ServiceProcess, tmp_path: Path
) -> None:
    """The same job ids on another server (a fresh service on the same address) are other
    jobs: their steps are read again, from the server that answers now."""
    other_ran = RAN + 4
    _fill(tmp_path, other_ran)
    other = ServiceProcess(tmp_path).start()
    try:
        with HeldProxy(history.root) as proxy:
            proxy.release()
            app = _through(proxy)
            async with app.run_test(size=(120, 40)) as pilot:
                job_list = app.query_one(JobList)

                def durations(seconds: int) -> bool:
                    return len(job_list.rows) > 0 and all(
                        cell_text(job_list, row, Column.DURATION) == f"{seconds} s"
                        for row in _view(job_list)
                    )

                await until(pilot, lambda: durations(RAN))
                proxy.retarget(other.root)
                await until(pilot, lambda: durations(other_ran))
    finally:
        other.stop()


async def test_durations_read_are_in_the_cache_at_the_next_start(
    history: ServiceProcess, tmp_path: Path
) -> None:
    """What was read goes into the cache (with its batch save): the next start shows the
    durations of the same rows without asking again."""
    with HeldProxy(history.root, ignore=frozenset({NEWEST})) as proxy:
        proxy.release()
        asked = []
        for _ in range(2):
            store = JobStore(
                [JobClient(Source.local(proxy.root))],
                StoreConfig(interval=0.2, calm_interval=0.2, use_stream=False, cache_dir=tmp_path),
            )
            app = QJobApp(store)  # type: ignore[arg-type]
            async with app.run_test(size=(120, 40)) as pilot:
                job_list = app.query_one(JobList)
                await until(
                    pilot,
                    lambda: (
                        len(job_list.rows) > 100  # noqa: B023
                        and all(
                            cell_text(job_list, row, Column.DURATION) == f"{RAN} s"  # noqa: B023
                            for row in _view(job_list)  # noqa: B023
                        )
                    ),
                )
            asked.append(len(proxy.asked))
        assert asked[0] >= len(_view(job_list)) - 1
        assert asked[1] == asked[0], proxy.asked[asked[0] :]
