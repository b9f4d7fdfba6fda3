"""Finished jobs listed from history show their duration: the list answer has no running or
finished time (only the metrics do), so the rows in view have their details read, once each,
and the rows out of view none (10,000 jobs are not 10,000 requests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qjob_tui.service.db import Database, JobRow, iso
from qjob_tui.ui.jobs.job_list import JobList
from qjob_tui.ui.jobs.job_rows import Column
from tests.service_process import ServiceProcess
from tests.test_app import cell_text, make_app, until

COUNT = 400
RAN = 7  # seconds each job ran


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("history-durations")
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
        row.finished = iso(created + timedelta(seconds=1 + RAN))
        rows.append(row)
    db.insert_many(rows)
    db.close()
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
