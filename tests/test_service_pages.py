"""The page cache of ``GET /jobs``: a page is served only at the generation it was built at."""

from __future__ import annotations

from pathlib import Path

from qjob_tui.service.db import Database, JobQuery, JobRow, now_iso
from qjob_tui.service.pages import PageCache


def test_a_page_is_served_only_at_its_generation() -> None:
    cache = PageCache()
    builds: list[int] = []

    def build() -> bytes:
        builds.append(1)
        return b"page"

    assert cache.page("q", 1, build) == b"page"
    assert cache.page("q", 1, build) == b"page"
    assert len(builds) == 1
    assert cache.get("q", 2) is None
    cache.page("q", 2, build)
    assert len(builds) == 2


def test_the_cache_is_bounded_in_pages_and_bytes() -> None:
    cache = PageCache(size=3, max_bytes=1000)
    for key in range(5):
        cache.put(key, 0, b"x" * 100)
    assert [cache.get(key, 0) is not None for key in range(5)] == [False, False, True, True, True]
    cache.put("big", 0, b"x" * 300)  # over a quarter of the budget: not kept
    assert cache.get("big", 0) is None


def test_every_write_moves_the_generation(tmp_path: Path) -> None:
    db = Database(tmp_path / "jobs.sqlite3")
    row = JobRow.new("sampler", "basic_simulator", "{}")
    row.id, row.created, row.queued = "dpages00000000000001", now_iso(), now_iso()
    seen = [db.generation]
    db.insert(row)
    seen.append(db.generation)
    db.set_tags(row.id, ["a"])
    seen.append(db.generation)
    db.list(JobQuery())  # reads leave it alone
    seen.append(db.generation)
    assert seen[0] < seen[1] < seen[2] == seen[3]
    db.close()


def test_another_processs_commit_moves_the_version(tmp_path: Path) -> None:
    """A second connection (as another process would have) is seen, so pages never go stale."""
    db = Database(tmp_path / "jobs.sqlite3")
    before = db.version()
    assert db.version() == before
    other = Database(tmp_path / "jobs.sqlite3")
    row = JobRow.new("sampler", "basic_simulator", "{}")
    row.id, row.created, row.queued = "dpages00000000000002", now_iso(), now_iso()
    other.insert(row)
    other.close()
    assert db.version() != before
    db.close()
