"""The write path on a disk that refuses writes (a fault-injecting layer over the real SQLite):
the scheduler's job changes wait and keep their order, a client's write is refused at once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from qjob_tui.service.db import Database, StorageFull, storage_failure, write_insert
from qjob_tui.service.writes import GroupWriter
from tests.test_service_batches import _row


class FullDisk(Database):
    """The real database, except that commits fail as on a full disk while ``full`` is set."""

    full = True
    tries = 0

    def apply(self, writes: Sequence[object]) -> list[object]:  # type: ignore[override]
        self.tries += 1
        if self.full:
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13  # type: ignore[attr-defined]
            raise error
        return super().apply(writes)  # type: ignore[arg-type]


def test_job_changes_wait_for_space_in_order_and_submits_are_refused(tmp_path: Path) -> None:
    db = FullDisk(tmp_path / "jobs.sqlite3")

    async def run() -> None:
        writer = GroupWriter(db)
        first = writer.write(lambda conn: write_insert(conn, [_row("first")]))
        submit = writer.write(lambda conn: write_insert(conn, [_row("submit")]), retry=False)
        second = writer.write(lambda conn: write_insert(conn, [_row("second")]))
        with pytest.raises(StorageFull, match=r"disk is full: .* bytes free in"):
            await submit
        while db.tries < 3:  # tried again and again while the disk is full
            await asyncio.sleep(0.01)
        assert writer.failing is not None
        assert not first.done() and not second.done()
        late = writer.write(lambda conn: write_insert(conn, [_row("late")]), retry=False)
        with pytest.raises(StorageFull):
            await late  # refused at once, not queued behind the waiting changes
        db.full = False
        await asyncio.gather(first, second)
        assert writer.failing is None

    asyncio.run(run())
    with sqlite3.connect(db.path) as other:
        ids = [row[0] for row in other.execute("SELECT id FROM jobs ORDER BY seq")]
    assert ids == ["first", "second"]
    db.close()


def test_real_sqlite_full_is_recognised(tmp_path: Path) -> None:
    """SQLite's own "full" (here by a page limit) is a storage failure, not the write's."""
    conn = sqlite3.connect(tmp_path / "small.sqlite3")
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    assert storage_failure(caught.value)
    assert not storage_failure(sqlite3.IntegrityError("UNIQUE constraint failed"))
    conn.close()


def test_a_refused_submit_does_not_keep_the_next_one_out(tmp_path: Path) -> None:
    """With no job change waiting, each submit tries the disk itself: once there is room
    again, the next one is stored (and /health's ``failing`` clears)."""
    db = FullDisk(tmp_path / "jobs.sqlite3")

    async def run() -> None:
        writer = GroupWriter(db)
        with pytest.raises(StorageFull):
            await writer.write(lambda conn: write_insert(conn, [_row("a")]), retry=False)
        assert writer.failing is not None
        db.full = False
        await writer.write(lambda conn: write_insert(conn, [_row("b")]), retry=False)
        assert writer.failing is None

    asyncio.run(run())
    db.close()
