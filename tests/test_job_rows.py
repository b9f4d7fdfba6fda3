"""The job list's model: sorting, filtering, marks and incremental updates, without Textual."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest

from qjob_tui.model import Job, JobStatus, QueueInfo, Step
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.jobs import job_rows
from qjob_tui.ui.jobs.job_rows import Column, FilterError, JobRows, parse_filter

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
STATUS_ORDER = [
    JobStatus.RUNNING,
    JobStatus.VALIDATING,
    JobStatus.QUEUED,
    JobStatus.INITIALIZING,
    JobStatus.ERROR,
    JobStatus.CANCELLED,
    JobStatus.DONE,
]


def make_job(index: int, **fields: object) -> Job:
    created = NOW - timedelta(minutes=index)
    values: dict[str, object] = {
        "id": f"d{index:05d}",
        "source": "local",
        "status": JobStatus.DONE,
        "created": created,
        "backend": "fake_lima",
        "program": "sampler",
        "steps": (Step("created", created),),
    }
    values.update(fields)
    return Job(**values)  # type: ignore[arg-type]


def random_job(rng: random.Random, index: int) -> Job:
    """A job with values drawn from small pools, so that ties and missing values are common."""
    status = rng.choice(list(JobStatus))
    created = NOW - timedelta(minutes=rng.randrange(40))
    steps = [Step("created", created)]
    if rng.random() < 0.7:
        steps.append(Step("running", created + timedelta(seconds=rng.randrange(1, 90))))
    if status.is_final and rng.random() < 0.8:
        steps.append(Step("finished", created + timedelta(seconds=rng.randrange(90, 900))))
    return Job(
        id=f"j{index:04d}",
        source=rng.choice(["local", "ibm"]),
        status=status,
        created=created,
        backend=rng.choice(["fake_lima", "ibm_brisbane", "Basic", None]),
        program=rng.choice(["sampler", "extractor", None]),
        tags=tuple(rng.sample(["ghz", "night", "Calib"], rng.randrange(3))),
        name=rng.choice([None, "", "alpha", "Beta", "beta", "gamma run"]),
        steps=tuple(steps),
        queue=QueueInfo(position=rng.choice([None, 1, 2, 3])),
    )


def changed_job(rng: random.Random, job: Job) -> Job:
    """The same job (same key and creation time) with some fields changed."""
    other = random_job(rng, 0)
    fields = rng.sample(["status", "backend", "name", "tags", "queue", "steps", "program"], 2)
    return dataclasses.replace(job, **{f: getattr(other, f) for f in fields})


# --- an independent reference order ---------------------------------------------------------


def reference_value(job: Job, column: Column) -> object:
    """What a column sorts by, written plainly; None when the job has no value."""
    if column is Column.STATUS:
        return STATUS_ORDER.index(job.status)
    if column is Column.CREATED:
        return job.created
    if column in (Column.ID, Column.SOURCE):
        return getattr(job, column.value).casefold()
    if column in (Column.NAME, Column.BACKEND, Column.PROGRAM):
        text = getattr(job, column.value)
        return text.casefold() if text else None
    if column is Column.TAGS:
        return ", ".join(job.tags).casefold() if job.tags else None
    if column is Column.QUEUE:
        waiting = job.status.is_active and job.status is not JobStatus.RUNNING
        return job.queue.position if waiting else None
    started = job.step_time("running")
    if job.status.is_final:
        if started is None or job.finished is None:
            return None
        return (0, (job.finished - started).total_seconds())
    return (1, (NOW - (started or job.created)).total_seconds())  # active: after finished


def reference_order(jobs: list[Job], column: Column, reverse: bool) -> list[tuple[str, str]]:
    """Stable sorts, last key first: value, then newest first, then key; missing values last."""
    present = [j for j in jobs if reference_value(j, column) is not None]
    missing = [j for j in jobs if reference_value(j, column) is None]
    for group in (present, missing):
        group.sort(key=lambda j: j.key, reverse=reverse)
        group.sort(key=lambda j: j.created, reverse=True)
    present.sort(key=lambda j: reference_value(j, column), reverse=reverse)  # type: ignore[arg-type, return-value]
    return [j.key for j in present + missing]


def keys(rows: JobRows) -> list[tuple[str, str]]:
    return [job.key for job in rows]


# --- sorting --------------------------------------------------------------------------------


def test_default_sort_is_created_newest_first() -> None:
    rows = JobRows([make_job(3), make_job(1), make_job(2)])
    assert rows.sort_column is Column.CREATED and rows.sort_reverse
    assert [job.id for job in rows] == ["d00001", "d00002", "d00003"]
    assert rows.row(0).id == "d00001"
    assert rows.index_of(("local", "d00003")) == 2
    assert len(rows) == 3


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("column", list(Column))
def test_every_column_sorts_both_ways(column: Column, reverse: bool) -> None:
    rng = random.Random(7)
    jobs = [random_job(rng, i) for i in range(300)]
    rows = JobRows(jobs, sort=column, reverse=reverse)
    assert keys(rows) == reference_order(jobs, column, reverse)
    for index, key in enumerate(keys(rows)):
        assert rows.index_of(key) == index


def test_ties_are_newest_first_in_both_directions() -> None:
    jobs = [make_job(i, name="same") for i in range(5)] + [make_job(9, name="aaa")]
    rows = JobRows(jobs, sort="name", reverse=False)
    assert [job.id for job in rows] == ["d00009", "d00000", "d00001", "d00002", "d00003", "d00004"]
    rows.toggle_reverse()
    assert [job.id for job in rows] == ["d00000", "d00001", "d00002", "d00003", "d00004", "d00009"]


def test_missing_values_sort_last_both_ways() -> None:
    jobs = [make_job(0, backend=None), make_job(1, backend="b"), make_job(2, backend="a")]
    rows = JobRows(jobs, sort="backend", reverse=False)
    assert [job.id for job in rows] == ["d00002", "d00001", "d00000"]
    rows.toggle_reverse()
    assert [job.id for job in rows] == ["d00001", "d00002", "d00000"]


def test_status_sorts_what_needs_attention_first() -> None:
    jobs = [make_job(i, status=s) for i, s in enumerate(reversed(STATUS_ORDER))]
    rows = JobRows(jobs, sort="status", reverse=False)
    assert [job.status for job in rows] == STATUS_ORDER


def test_duration_puts_active_jobs_after_finished_ones() -> None:
    start = NOW - timedelta(hours=1)
    done = make_job(
        1,
        steps=(Step("running", start), Step("finished", start + timedelta(seconds=30))),
    )
    long_done = make_job(
        2, steps=(Step("running", start), Step("finished", start + timedelta(minutes=50)))
    )
    running = make_job(3, status=JobStatus.RUNNING, steps=(Step("running", start),))
    never_ran = make_job(4, status=JobStatus.CANCELLED)
    rows = JobRows([never_ran, running, long_done, done], sort="duration", reverse=False)
    assert [job.id for job in rows] == ["d00001", "d00002", "d00003", "d00004"]
    rows.toggle_reverse()
    assert [job.id for job in rows] == ["d00003", "d00002", "d00001", "d00004"]


def test_cycle_sort_walks_the_given_columns_in_their_natural_direction() -> None:
    rows = JobRows([make_job(i) for i in range(3)])
    assert rows.cycle_sort() is Column.DURATION  # the one after created
    assert not rows.sort_reverse
    shown = [Column.STATUS, Column.ID, Column.CREATED]
    assert rows.cycle_sort(shown) is Column.STATUS  # duration is not shown: start over
    assert rows.cycle_sort(shown) is Column.ID
    assert rows.cycle_sort(shown) is Column.CREATED
    assert rows.sort_reverse  # created goes newest first
    assert rows.toggle_reverse() is False
    assert [job.id for job in rows] == ["d00002", "d00001", "d00000"]


def test_set_sort_rejects_unknown_columns_and_reports_no_change() -> None:
    rows = JobRows([make_job(0)])
    with pytest.raises(ValueError):
        rows.set_sort("colour")
    assert rows.set_sort(Column.CREATED, True) is False
    assert rows.set_sort("id") is True


# --- filtering ------------------------------------------------------------------------------


def filter_jobs() -> list[Job]:
    return [
        make_job(0, name="Bell pair", tags=("Nightly",)),
        make_job(1, name="ghz", backend="ibm_brisbane", status=JobStatus.ERROR),
        make_job(2, program="extractor", status=JobStatus.RUNNING),
        make_job(3, source="lab", status=JobStatus.QUEUED),
        make_job(4, status=JobStatus.CANCELLED),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("d00003", ["d00003"]),  # id
        ("BELL", ["d00000"]),  # name, any case
        ("nightly", ["d00000"]),  # tag
        ("brisbane", ["d00001"]),  # backend
        ("error", ["d00001"]),  # status
        ("extract", ["d00002"]),  # program
        ("lab", ["d00003"]),  # source
        ("re:^d0000[12]$", ["d00001", "d00002"]),  # regex, anchored per field
        ("re:GHZ|bell", ["d00000", "d00001"]),  # regex, any case
        ("!fake_lima", ["d00001"]),  # inverted substring
        ("!re:^(done|cancelled)$", ["d00001", "d00002", "d00003"]),  # inverted regex
        ("  ", ["d00000", "d00001", "d00002", "d00003", "d00004"]),
        ("!", ["d00000", "d00001", "d00002", "d00003", "d00004"]),  # half typed: no filter
        ("re:", ["d00000", "d00001", "d00002", "d00003", "d00004"]),
    ],
)
def test_filter_text(text: str, expected: list[str]) -> None:
    rows = JobRows(filter_jobs())
    rows.set_filter(text)
    assert [job.id for job in rows] == expected
    assert rows.filter_text == text


def test_a_substring_never_matches_across_two_fields() -> None:
    rows = JobRows([make_job(0, name="ab", tags=("cd",))])
    rows.set_filter("bc")
    assert len(rows) == 0


def test_invalid_regex_says_why_and_keeps_the_filter() -> None:
    rows = JobRows(filter_jobs())
    rows.set_filter("ghz")
    with pytest.raises(FilterError, match=r"invalid regular expression '\(ghz'.*position 0"):
        rows.set_filter("re:(ghz")
    assert rows.filter_text == "ghz"
    assert [job.id for job in rows] == ["d00001"]


def test_parse_filter_forms() -> None:
    assert parse_filter("") is None
    assert parse_filter(" Foo ") == job_rows.TextFilter("foo")
    parsed = parse_filter("! re:a+")
    assert parsed is not None and parsed.invert and parsed.regex is not None


def test_narrowing_and_widening_the_filter() -> None:
    rows = JobRows([make_job(i, name=f"run {i}") for i in range(30)])
    assert rows.set_filter("run 1") is True
    assert len(rows) == 11  # run 1, run 10..19
    assert rows.set_filter("run 1") is False
    rows.set_filter("run 12")
    assert [job.name for job in rows] == ["run 12"]
    rows.set_filter("run")
    assert len(rows) == 30


def test_status_filters_combine_with_text() -> None:
    rows = JobRows(filter_jobs())
    assert rows.set_status_filter("active") is True
    assert [job.id for job in rows] == ["d00002", "d00003"]
    rows.set_status_filter("failed")
    assert [job.id for job in rows] == ["d00001"]
    rows.set_filter("!ghz")
    assert len(rows) == 0
    rows.set_status_filter(None)
    assert [job.id for job in rows] == ["d00000", "d00002", "d00003", "d00004"]
    assert rows.index_of(("local", "d00001")) is None
    with pytest.raises(ValueError, match="unknown status filter"):
        rows.set_status_filter("stale")  # type: ignore[arg-type]


# --- marks ----------------------------------------------------------------------------------


def test_marks_survive_sort_and_filter_and_go_with_their_job() -> None:
    rows = JobRows(filter_jobs())
    assert rows.toggle_mark(("local", "d00001")) is True
    assert rows.toggle_mark(("local", "d00002")) is True
    assert rows.toggle_mark(("nowhere", "x")) is False
    rows.set_sort("status")
    rows.set_filter("ghz")
    assert rows.marked == {("local", "d00001"), ("local", "d00002")}
    update = rows.apply(ChangeSet(removed=(("local", "d00002"),)))
    assert update.marks_dropped == 1
    assert rows.marked == {("local", "d00001")}
    assert rows.toggle_mark(("local", "d00001")) is False
    rows.toggle_mark(("local", "d00000"))
    assert rows.clear_marks() == 1
    assert rows.mark_count == 0


# --- incremental updates --------------------------------------------------------------------


def test_in_place_changes_report_their_rows_without_moving_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = JobRows([make_job(i) for i in range(100)])
    order = keys(rows)

    def no_splice(*args: object) -> list[object]:
        raise AssertionError("rows were moved although no sort key changed")

    monkeypatch.setattr(job_rows, "_splice", no_splice)
    changed = [dataclasses.replace(rows.row(i), name=f"new {i}") for i in (3, 50, 97)]
    update = rows.apply(ChangeSet(changed=tuple(changed)))
    assert update.changed == (3, 50, 97)
    assert not update.reordered
    assert keys(rows) == order
    assert rows.row(50).name == "new 50"


def test_a_change_that_moves_a_row_reorders() -> None:
    rows = JobRows([make_job(i, status=JobStatus.QUEUED) for i in range(5)], sort="status")
    running = dataclasses.replace(rows.row(4), status=JobStatus.RUNNING)
    update = rows.apply(ChangeSet(changed=(running,)))
    assert update.reordered and update.changed == ()
    assert rows.row(0) is running


def test_added_and_removed_rows_reorder() -> None:
    rows = JobRows([make_job(i) for i in range(1, 4)])
    update = rows.apply(ChangeSet(added=(make_job(0),), removed=(("local", "d00002"),)))
    assert update.reordered
    assert [job.id for job in rows] == ["d00000", "d00001", "d00003"]
    assert rows.total == 3
    assert rows.apply(ChangeSet(removed=(("local", "gone"),))).empty


def test_a_change_that_leaves_the_filter_hides_the_row() -> None:
    rows = JobRows([make_job(i, status=JobStatus.RUNNING) for i in range(3)])
    rows.set_status_filter("active")
    finished = dataclasses.replace(rows.row(1), status=JobStatus.DONE)
    update = rows.apply(ChangeSet(changed=(finished,)))
    assert update.reordered
    assert [job.id for job in rows] == ["d00000", "d00002"]
    assert rows.index_of(finished.key) is None
    assert rows.job(finished.key) is finished


def test_the_same_job_removed_and_changed_in_one_set_is_removed() -> None:
    rows = JobRows([make_job(i) for i in range(3)])
    job = dataclasses.replace(rows.row(0), name="late")
    rows.apply(ChangeSet(changed=(job,), removed=(job.key,)))
    assert job.key not in rows and len(rows) == 2


@pytest.mark.parametrize("seed", range(12))
def test_apply_matches_a_fresh_full_sort(seed: int) -> None:
    """Random change sets, small and large, against a list sorted from scratch each time."""
    rng = random.Random(seed)
    column = rng.choice(list(Column))
    reverse = rng.random() < 0.5
    text = rng.choice(["", "", "beta", "!ghz", "re:^(alpha|gamma run)$", "lab"])
    status = rng.choice([None, None, "active", "failed"])
    current = {job.key: job for job in (random_job(rng, i) for i in range(400))}
    rows = JobRows(current.values(), sort=column, reverse=reverse)
    rows.set_filter(text)
    rows.set_status_filter(status)  # type: ignore[arg-type]
    serial = 400
    for _ in range(15):
        size = rng.choice([1, 3, 10, 40, 150])
        existing = list(current)
        changed = [changed_job(rng, current[k]) for k in rng.sample(existing, size)]
        removed = rng.sample(existing, rng.randrange(size // 2 + 1))
        added = [random_job(rng, serial + i) for i in range(rng.randrange(size))]
        serial += len(added)
        before = keys(rows)
        update = rows.apply(
            ChangeSet(added=tuple(added), changed=tuple(changed), removed=tuple(removed))
        )
        for job in (*changed, *added):
            current[job.key] = job
        for key in removed:
            current.pop(key, None)

        fresh = JobRows(current.values(), sort=column, reverse=reverse)
        fresh.set_filter(text)
        fresh.set_status_filter(status)  # type: ignore[arg-type]
        assert keys(rows) == keys(fresh)
        assert rows.total == len(current)
        assert all(rows.row(i) is current[key] for i, key in enumerate(keys(rows)))
        if not update.reordered:
            assert keys(rows) == before
        touched = {job.key for job in changed} - set(removed)
        expected = sorted(i for i, key in enumerate(keys(rows)) if key in touched)
        if not update.reordered:
            assert list(update.changed) == expected
        else:
            assert update.changed == ()


def test_load_of_many_jobs_uses_the_bulk_path() -> None:
    rng = random.Random(3)
    jobs = [random_job(rng, i) for i in range(2000)]
    rows = JobRows()
    rows.load(jobs[:1000])
    update = rows.load(jobs[1000:])
    assert update.reordered
    assert keys(rows) == reference_order(jobs, Column.CREATED, True)
    assert rows.max_id_length == 5
    assert rows.sources == ["ibm", "local"]
