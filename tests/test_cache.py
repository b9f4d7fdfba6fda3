"""The job cache: exact round trips, restarts, kills, and every kind of bad file."""

from __future__ import annotations

import dataclasses
import gc
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from qjob_tui.model import Job, JobError, JobStatus, QueueInfo, Step, Usage
from qjob_tui.results import Counts, JobResult, PubResult, RegisterResult
from qjob_tui.store.cache.job_cache import (
    MAX_OUTCOMES,
    SCHEMA_VERSION,
    TRUNCATED_KEY,
    JobCache,
    cache_file_name,
)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))
ODD = timezone(-timedelta(hours=3, minutes=2, seconds=17))

ODD_TAGS = (
    "ünïcödé ✓",
    'say "hi"',
    "it's",
    "back\\slash",
    "emoji 🧪🔬",
    "zero\u200bwidth",
    "rtl \u202etxt",
    "nul \x00 inside",
    "lone \ud800 surrogate",
    "[bold]markup[/bold] \x1b[31m",
)


def job(job_id: str, status: JobStatus = JobStatus.DONE, minutes: int = 0, **fields) -> Job:
    return Job(
        id=job_id,
        source="test-source",
        status=status,
        created=fields.pop("created", T0 + timedelta(minutes=minutes)),
        **fields,
    )


def rich_jobs() -> list[Job]:
    """Every field set, odd values where a lossy format would slip."""
    return [
        job(
            "d0rich",
            JobStatus.ERROR,
            minutes=5,
            backend="ibm_torino",
            program="sampler",
            tags=ODD_TAGS[:8],
            name='a "named" job \\ with \n newline',
            session_id="sess-ü-1",
            steps=(
                Step("created", T0 + timedelta(minutes=5)),
                Step("queued", T0 + timedelta(minutes=5, microseconds=1)),
                Step("running", T0 + timedelta(minutes=6, microseconds=999_999)),
                Step("finished", T0 + timedelta(minutes=7, seconds=1)),
            ),
            queue=QueueInfo(
                position=3,
                estimated_start=T0 + timedelta(minutes=6),
                estimated_completion=T0 + timedelta(minutes=9),
            ),
            usage=Usage(quantum_seconds=12.345678901234567, final=True),
            estimated_running_seconds=3.25,
            error=JobError(1517, 'Error in "transpilation"\nline 2', "Try 'again' {}"),
            private=True,
            user_id="user-ü-1",
        ),
        job("d1minimal", JobStatus.CANCELLED, minutes=1),
        job(
            "d2zones",
            JobStatus.DONE,
            created=datetime(2025, 3, 1, 18, 0, 0, tzinfo=IST),
            steps=(Step("finished", datetime(2025, 3, 1, 9, 0, 0, 1, tzinfo=ODD)),),
            error=JobError(None, "no code", None),
        ),
        job(
            "d3falsy",
            JobStatus.ERROR,
            minutes=3,
            tags=ODD_TAGS[8:],
            name="",
            session_id="",
            queue=QueueInfo(position=0),
            usage=Usage(quantum_seconds=0.0, final=True),
            estimated_running_seconds=0.0,
            error=JobError(0, "", ""),
        ),
        job("id with 'quotes' \"and\" é/../\\", JobStatus.DONE, minutes=4, backend=""),
    ]


def newest_first(jobs: list[Job]) -> list[Job]:
    return sorted(jobs, key=lambda j: (j.created, j.id), reverse=True)


def offsets(jobs: list[Job]) -> list[object]:
    """UTC offsets of every time: == on aware datetimes ignores them, so check them apart."""
    return [
        (j.created.utcoffset(), [s.at.utcoffset() for s in j.steps], j.created.microsecond)
        for j in jobs
    ]


@pytest.fixture
def cache(tmp_path: Path):
    opened = JobCache(tmp_path / "cache.sqlite3")
    yield opened
    opened.close()


# --- round trips --------------------------------------------------------------------------


def test_the_rich_job_sets_every_field_so_the_round_trip_covers_them() -> None:
    rich, plain = rich_jobs()[0], job("plain", JobStatus.DONE)
    same = [
        f.name
        for f in dataclasses.fields(Job)
        if f.name != "source" and getattr(rich, f.name) == getattr(plain, f.name)
    ]
    assert same == [], f"a Job field the cache round trip does not cover: {same}"


def test_rich_jobs_round_trip_exactly(cache: JobCache, tmp_path: Path) -> None:
    jobs = rich_jobs()
    assert cache.put(jobs) == len(jobs)
    loaded = cache.load()
    assert loaded == newest_first(jobs)
    assert offsets(loaded) == offsets(newest_first(jobs))
    assert cache.problem is None
    cache.close()
    with JobCache(tmp_path / "cache.sqlite3") as again:
        assert again.load() == newest_first(jobs)
        assert again.problem is None


def test_lone_surrogates_and_controls_survive_in_text_fields(cache: JobCache) -> None:
    odd = job("odd", tags=ODD_TAGS, name="\ud83d half", error=JobError(1, "\udfff", "\x00"))
    assert cache.put([odd]) == 1
    assert cache.load() == [odd]


def test_a_job_id_sqlite_cannot_key_is_skipped_not_fatal(cache: JobCache) -> None:
    assert cache.put([job("bad \ud800 id"), job("fine")]) == 1
    assert [j.id for j in cache.load()] == ["fine"]
    assert cache.result("bad \ud800 id") is None
    cache.remove(["bad \ud800 id"])


def test_only_final_jobs_are_stored(cache: JobCache) -> None:
    active = [job(f"a{s.name}", s) for s in JobStatus if not s.is_final]
    final = [job(f"f{s.name}", s, minutes=i) for i, s in enumerate(JobStatus) if s.is_final]
    assert len(active) == 4 and len(final) == 3
    assert cache.put(active + final) == 3
    assert cache.put(active) == 0
    assert {j.id for j in cache.load()} == {j.id for j in final}
    assert len(cache) == 3


def test_put_replaces_a_job_with_the_same_id(cache: JobCache) -> None:
    cache.put([job("x", tags=("old",), minutes=1), job("y", minutes=2)])
    newer = job("x", JobStatus.ERROR, tags=("new",), minutes=3, error=JobError(9, "late"))
    assert cache.put([newer]) == 1
    assert len(cache) == 2
    assert cache.load() == [newer, job("y", minutes=2)]


def test_duplicates_in_one_put_count_once_and_the_last_wins(cache: JobCache) -> None:
    first, second = job("x", name="first"), job("x", name="second")
    assert cache.put([first, second]) == 1
    assert cache.load() == [second]


def test_load_is_newest_first_with_ties_broken_by_id(cache: JobCache) -> None:
    same = [job(f"t{i}") for i in range(3)]
    older = job("z-old", minutes=-1)
    later_in_other_zone = job("later", created=(T0 + timedelta(seconds=1)).astimezone(IST))
    cache.put([*same, older, later_in_other_zone])
    assert [j.id for j in cache.load()] == ["later", "t2", "t1", "t0", "z-old"]


def test_newest_created(cache: JobCache) -> None:
    assert cache.newest_created() is None
    newest = (T0 + timedelta(minutes=10, microseconds=7)).astimezone(IST)
    cache.put([job("a", minutes=1), job("b", created=newest), job("c", minutes=2)])
    got = cache.newest_created()
    assert got == newest and got.utcoffset() == newest.utcoffset()
    cache.remove(["b"])
    assert cache.newest_created() == T0 + timedelta(minutes=2)


def test_remove_forgets_jobs_and_their_results(cache: JobCache) -> None:
    cache.put([job("a"), job("b", minutes=1)])
    cache.put_result("a", bell_result())
    cache.remove(["a", "never-there"])
    cache.remove([])
    assert [j.id for j in cache.load()] == ["b"]
    assert cache.result("a") is None
    assert len(cache) == 1


def test_active_ids_are_remembered(cache: JobCache, tmp_path: Path) -> None:
    assert cache.active_ids() == []
    cache.set_active_ids(["q2", "q1", "q1"])
    cache.close()
    with JobCache(tmp_path / "cache.sqlite3") as again:
        assert again.active_ids() == ["q1", "q2"]
        again.set_active_ids([])
        assert again.active_ids() == []


# --- results ------------------------------------------------------------------------------


def bell_result() -> JobResult:
    return JobResult(
        pubs=(
            PubResult(
                registers=(
                    RegisterResult(
                        "meas", 2, Counts({"00": 3, "11": 2}), ("00", "11", "00", "11", "00")
                    ),
                    RegisterResult("flag", 1, Counts({"0": 5})),
                ),
                metadata={"shots": 5, "circuit_metadata": {"name": 'bell "1"'}},
            ),
            PubResult(registers=(RegisterResult("c", 3, Counts(), ("101", "101", "000")),)),
        ),
        metadata={"version": 2, "execution": {"spans": []}},
    )


def test_result_summary_round_trip_keeps_counts_and_drops_bitstrings(cache: JobCache) -> None:
    cache.put_result("job-1", bell_result())
    got = cache.result("job-1")
    assert got == JobResult(
        pubs=(
            PubResult(
                registers=(
                    RegisterResult("meas", 2, Counts({"00": 3, "11": 2})),
                    RegisterResult("flag", 1, Counts({"0": 5})),
                ),
                metadata={"shots": 5, "circuit_metadata": {"name": 'bell "1"'}},
            ),
            # Counts come from the bitstrings when the register has only those.
            PubResult(registers=(RegisterResult("c", 3, Counts({"101": 2, "000": 1})),)),
        ),
        metadata={"version": 2, "execution": {"spans": []}},
    )
    assert got is not None
    assert all(not reg.bitstrings for pub in got.pubs for reg in pub.registers)
    assert list(got.pubs[0].registers[0].counts) == ["00", "11"]
    assert cache.result("no-such-job") is None


def test_result_metadata_of_numpy_and_datetimes_becomes_plain_json(cache: JobCache) -> None:
    np = pytest.importorskip("numpy")
    meta = {"n": np.int64(5), "x": np.float32(0.5), "arr": np.arange(3), "at": T0, 7: {1, 2}}
    cache.put_result("j", JobResult(pubs=(PubResult((), metadata=meta),)))
    got = cache.result("j")
    assert got is not None
    assert got.pubs[0].metadata == {
        "n": 5,
        "x": 0.5,
        "arr": [0, 1, 2],
        "at": T0.isoformat(),
        "7": [1, 2],
    }


def test_result_counts_are_capped_at_the_most_frequent_outcomes(cache: JobCache) -> None:
    rng = random.Random(7)
    counts = Counts({format(i, "013b"): rng.randint(1, 50) for i in range(5000)})
    result = JobResult(
        pubs=(
            PubResult(
                registers=(
                    RegisterResult("wide", 13, counts),
                    RegisterResult("narrow", 1, Counts({"0": 10, "1": 5})),
                ),
                metadata={"shots": counts.shots},
            ),
        )
    )
    cache.put_result("big", result)
    got = cache.result("big")
    assert got is not None
    wide = got.pubs[0].register("wide").counts
    assert len(wide) == MAX_OUTCOMES
    assert list(wide.items()) == counts.most_frequent(MAX_OUTCOMES)
    assert min(wide.values()) >= max(v for k, v in counts.items() if k not in wide)
    assert got.pubs[0].register("narrow").counts == {"0": 10, "1": 5}
    assert got.pubs[0].metadata == {
        "shots": counts.shots,
        TRUNCATED_KEY: {"wide": {"distinct": 5000, "shots": counts.shots}},
    }


def test_the_outcome_cap_can_be_lowered_and_a_result_replaced(cache: JobCache) -> None:
    cache.max_outcomes = 1
    cache.put_result("j", bell_result())
    got = cache.result("j")
    assert got is not None
    assert got.pubs[0].register("meas").counts == {"00": 3}
    assert got.pubs[0].metadata[TRUNCATED_KEY] == {"meas": {"distinct": 2, "shots": 5}}
    cache.max_outcomes = MAX_OUTCOMES
    cache.put_result("j", bell_result())
    got = cache.result("j")
    assert got is not None and TRUNCATED_KEY not in got.pubs[0].metadata


# --- restart, schema, threads ---------------------------------------------------------------


def test_close_and_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    first = JobCache(path)
    first.put(rich_jobs())
    first.put_result("d0rich", bell_result())
    expected_result = first.result("d0rich")
    first.close()
    first.close()  # twice is harmless
    with pytest.raises(ValueError):
        first.load()
    with JobCache(path) as second:
        assert second.problem is None and not second.in_memory
        assert second.load() == newest_first(rich_jobs())
        assert len(second) == len(rich_jobs())
        assert second.result("d0rich") == expected_result
        assert second.newest_created() == newest_first(rich_jobs())[0].created


def test_schema_is_labelled_wal_and_indexed_for_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with JobCache(path) as cache:
        cache.put([job("a")])
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x716A6F62
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            assert meta["application"] == "qjob-tui" and meta["kind"] == "job-cache"
            assert meta["schema"] == str(SCHEMA_VERSION)
            plan = " ".join(
                row[-1]
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN SELECT id FROM jobs ORDER BY created_us DESC, id DESC"
                )
            )
            assert "jobs_created" in plan and "TEMP B-TREE" not in plan
        finally:
            conn.close()


def test_two_instances_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    """The dashboard and ``qjob-tui ls --watch`` may run at once."""
    path = tmp_path / "c.sqlite3"
    with JobCache(path) as first, JobCache(path) as second:
        assert first.put([job("from-first")]) == 1
        assert [j.id for j in second.load()] == ["from-first"]
        assert second.put([job("from-second", minutes=1)]) == 1
        assert [j.id for j in first.load()] == ["from-second", "from-first"]
        assert first.problem is None and second.problem is None


def test_a_failed_write_stores_nothing_of_the_batch(cache: JobCache) -> None:
    cache.put([job("kept")])
    conn = cache._conn
    assert conn is not None
    conn.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON jobs WHEN NEW.id = 'bad' "
        "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
    )
    assert cache.put([job("new-1"), job("bad"), job("new-2")]) == 0
    assert cache.problem is not None and "refused by test" in cache.problem
    assert [j.id for j in cache.load()] == ["kept"]


def test_one_cache_shared_by_threads(cache: JobCache) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for batch in range(10):
                cache.put([job(f"w{n}-{batch}-{i}", minutes=i) for i in range(20)])
                cache.load()
                cache.newest_created()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) == 4 * 10 * 20


def test_load_leaves_the_garbage_collector_as_it_found_it(cache: JobCache) -> None:
    cache.put([job("a")])
    assert gc.isenabled()
    cache.load()
    assert gc.isenabled()
    gc.disable()
    try:
        cache.load()
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- kill safety ----------------------------------------------------------------------------

BATCH = 100


def batch_jobs(k: int) -> list[Job]:
    """Batch k of the writer; every batch also rewrites job g-0..g-49 with generation k."""
    fresh = [
        job(f"b{k:05d}-{i:03d}", minutes=k, tags=(f"batch-{k}", 'q"uote'), name=f"n{i}")
        for i in range(BATCH)
    ]
    generation = [job(f"g-{i:02d}", minutes=-1, name=f"gen-{k}") for i in range(50)]
    return fresh + generation


WRITER = """
import sys
from qjob_tui.store.cache import JobCache
from tests.test_cache import batch_jobs
cache = JobCache(sys.argv[1])
k = sum(1 for j in cache.load() if j.id.endswith("-000"))
announced = False
while True:
    cache.put(batch_jobs(k))
    k += 1
    if not announced:
        print("writing", flush=True)
        announced = True
"""


def check_consistent(path: Path) -> int:
    """Every batch complete, batches contiguous, all generation jobs from one put."""
    with JobCache(path) as cache:
        assert cache.problem is None
        jobs = cache.load()
        assert len(jobs) == len(cache)  # no row failed to decode
    batches: dict[int, list[Job]] = defaultdict(list)
    generation = []
    for j in jobs:
        if j.id.startswith("g-"):
            generation.append(j)
        else:
            batches[int(j.id[1:6])].append(j)
    count = len(batches)
    assert sorted(batches) == list(range(count))
    for k, members in batches.items():
        assert sorted(members, key=lambda j: j.id) == batch_jobs(k)[:BATCH]
    if count:
        assert len(generation) == 50
        assert {j.name for j in generation} == {f"gen-{count - 1}"}
    return count


def test_sigkill_at_random_moments_leaves_a_whole_state(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(1234)
    done = 0
    for _ in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line == "writing\n", child.stderr.read() if child.stderr else ""
            threading.Event().wait(rng.uniform(0.0, 0.25))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        count = check_consistent(path)
        assert count > done  # the child wrote at least its first batch each time
        done = count


# --- bad files ------------------------------------------------------------------------------


def write_garbage(path: Path) -> None:
    path.write_bytes(os.urandom(20_000))
    Path(f"{path}-wal").write_bytes(b"wal junk")
    Path(f"{path}-shm").write_bytes(b"shm junk")


def write_truncated(path: Path) -> None:
    with JobCache(path) as cache:
        cache.put([job(f"j{i}", minutes=i, name="x" * 200) for i in range(500)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def write_foreign(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT, age INTEGER)")
    conn.execute("INSERT INTO people VALUES ('ada', 36)")
    conn.commit()
    conn.close()


def write_foreign_empty_with_application_id(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.close()


def write_newer_schema(path: Path) -> None:
    with JobCache(path) as cache:
        cache.put([job("from-the-future")])
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


def write_damaged_index(path: Path) -> None:
    """Valid header and tables, but the created index page is noise: only a check sees it."""
    with JobCache(path) as cache:
        cache.put([job(f"j{i}", minutes=i) for i in range(300)])
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'jobs_created'").fetchone()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root[0] - 1) * page_size
    data[start : start + page_size] = random.Random(5).randbytes(page_size)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "spoil",
    [
        write_garbage,
        write_truncated,
        write_foreign,
        write_foreign_empty_with_application_id,
        write_newer_schema,
        write_damaged_index,
    ],
)
def test_a_bad_file_is_set_aside_and_replaced(tmp_path: Path, spoil) -> None:
    path = tmp_path / "c.sqlite3"
    spoil(path)
    original = path.read_bytes()
    sides = {
        s: Path(f"{path}{s}").read_bytes() for s in ("-wal", "-shm") if Path(f"{path}{s}").exists()
    }

    cache = JobCache(path)
    assert not cache.in_memory
    assert cache.problem is not None
    assert "\n" not in cache.problem and str(path) in cache.problem
    moved = [
        p for p in tmp_path.iterdir() if re.fullmatch(r"c\.sqlite3\.broken-\d{8}T\d{6}Z", p.name)
    ]
    assert len(moved) == 1 and str(moved[0]) in cache.problem
    assert moved[0].read_bytes() == original
    # The -wal keeps its bytes; SQLite rewrites the -shm (a derived index) as it opens.
    for suffix, content in sides.items():
        assert Path(f"{moved[0]}{suffix}").exists()
        if suffix == "-wal":
            assert Path(f"{moved[0]}{suffix}").read_bytes() == content

    assert cache.load() == []
    assert cache.put([job("fresh")]) == 1
    cache.close()
    with JobCache(path) as again:
        assert again.problem is None
        assert [j.id for j in again.load()] == ["fresh"]


def test_an_empty_file_is_simply_a_new_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"")
    with JobCache(path) as cache:
        assert cache.problem is None
        assert cache.put([job("a")]) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if "broken" in p.name) == []


def test_two_bad_files_in_one_second_get_two_names(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    for _ in range(2):
        path.write_bytes(b"junk" * 1000)
        JobCache(path).close()
    assert len([p for p in tmp_path.iterdir() if ".broken-" in p.name]) == 2


def test_rows_that_do_not_decode_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    good = job("good", minutes=1, tags=("t",))
    with JobCache(path) as cache:
        cache.put([good, *(job(f"bad{i}", minutes=i + 2) for i in range(7))])
        cache.put_result("good", bell_result())
    conn = sqlite3.connect(path)
    edits = [
        ('UPDATE jobs SET body = \'{"status": "DONE", "source": \' WHERE id = \'bad0\'', ()),
        ("UPDATE jobs SET body = json_set(body, '$.tags', json('[1, 2]')) WHERE id = 'bad1'", ()),
        ("UPDATE jobs SET body = json_set(body, '$.status', 'RUNNING') WHERE id = 'bad2'", ()),
        ("UPDATE jobs SET body = CAST(x'7bff' AS TEXT) WHERE id = 'bad3'", ()),
        ("UPDATE jobs SET created = 'yesterday-ish' WHERE id = 'bad4'", ()),
        ("UPDATE jobs SET body = '[]' WHERE id = 'bad5'", ()),
        ("UPDATE jobs SET body = json_set(body, '$.steps', json('[[1]]')) WHERE id = 'bad6'", ()),
        ("UPDATE results SET body = '{\"pubs\": 5}'", ()),
    ]
    for statement, params in edits:
        conn.execute(statement, params)
    conn.commit()
    conn.close()
    with JobCache(path) as cache:
        assert cache.load() == [good]
        assert cache.problem is None
        assert len(cache) == 8
        assert cache.result("good") is None
        # The newest job that loads: a row that does not would be hidden by created_after.
        assert cache.newest_created() == good.created


# --- unwritable places ----------------------------------------------------------------------


def test_a_directory_that_cannot_be_made_means_a_memory_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = JobCache(blocker / "qjob-tui" / "c.sqlite3")
    assert cache.in_memory
    assert cache.problem is not None and "memory" in cache.problem
    assert str(blocker) in cache.problem and "\n" not in cache.problem
    assert cache.put(rich_jobs()) == len(rich_jobs())
    assert cache.load() == newest_first(rich_jobs())
    cache.close()
    assert blocker.read_text() == "not a directory"


def writes_despite_permissions(folder: Path) -> bool:
    """Root (with CAP_DAC_OVERRIDE) writes into a read-only directory anyway."""
    probe = folder / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "file").touch()
    except PermissionError:
        return False
    finally:
        probe.chmod(0o755)
    return True


def test_a_read_only_directory_means_a_memory_cache(tmp_path: Path) -> None:
    if writes_despite_permissions(tmp_path):
        pytest.skip("this user writes into read-only directories (root)")
    folder = tmp_path / "ro"
    folder.mkdir()
    with JobCache(folder / "c.sqlite3") as cache:
        cache.put([job("old")])
    folder.chmod(0o555)
    try:
        with JobCache(folder / "new.sqlite3") as fresh:
            assert fresh.in_memory and fresh.problem is not None
            assert fresh.put([job("a")]) == 1
        with JobCache(folder / "c.sqlite3") as old:
            assert old.in_memory and old.problem is not None
            assert [j.id for j in old.load()] == ["old"]
    finally:
        folder.chmod(0o755)


def test_a_read_only_file_is_copied_to_memory(tmp_path: Path, monkeypatch) -> None:
    """What a read-only file or directory does, made to happen also when the tests run as root."""
    path = tmp_path / "c.sqlite3"
    with JobCache(path) as cache:
        cache.put(rich_jobs())
        cache.put_result("d0rich", bell_result())
    before = path.read_bytes()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        reader.execute("INSERT INTO active VALUES ('x')")
    except sqlite3.OperationalError as exc:
        readonly = exc
    finally:
        reader.close()
    assert readonly.sqlite_errorname == "SQLITE_READONLY"

    def refuse(self: JobCache) -> sqlite3.Connection:
        raise readonly

    monkeypatch.setattr(JobCache, "_open_file", refuse)
    with JobCache(path) as cache:
        assert cache.in_memory
        assert cache.problem is not None and "readonly" in cache.problem
        assert cache.load() == newest_first(rich_jobs())
        assert cache.result("d0rich") is not None
        assert cache.put([job("only-in-memory", minutes=99)]) == 1
        assert cache.load()[0].id == "only-in-memory"
    assert path.read_bytes() == before


# --- file names -----------------------------------------------------------------------------


def test_for_source_uses_the_xdg_cache_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with JobCache.for_source("IBM Quantum (main)") as cache:
        assert cache.path.parent == tmp_path / "xdg" / "qjob-tui"
        assert cache.path.name.startswith("ibm-quantum-main-")
        cache.put([job("a")])
    assert cache.path.exists()


def test_names_that_slug_alike_get_their_own_files(tmp_path: Path) -> None:
    names = ["IBM Quantum", "ibm-quantum", "ibm quantum", "IBM_Quantum", "ibm--quantum!"]
    files = [cache_file_name(name) for name in names]
    assert len(set(files)) == len(names)
    assert len({f.lower() for f in files}) == len(names)  # also on case-insensitive disks
    assert all(f.startswith("ibm-quantum-") for f in files)
    for i, name in enumerate(names):
        with JobCache.for_source(name, tmp_path) as cache:
            cache.put([job(f"only-{i}")])
    for i, name in enumerate(names):
        with JobCache.for_source(name, tmp_path) as cache:
            assert [j.id for j in cache.load()] == [f"only-{i}"]


@pytest.mark.parametrize(
    "name", ["", "../../etc/passwd", "a/b\\c:d*?<>|", "名前", "Ünïcode", "x" * 500, "\ud800", "."]
)
def test_any_source_name_gives_a_safe_file_inside_the_directory(tmp_path: Path, name) -> None:
    file_name = cache_file_name(name)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}-[0-9a-f]{12}\.sqlite3", file_name)
    assert cache_file_name(name) == file_name
    with JobCache.for_source(name, tmp_path) as cache:
        assert cache.path.parent == tmp_path and cache.problem is None
        assert cache.put([job("a")]) == 1
