"""Grouping jobs by session and how group rows, usage and the owner filter read: pure code."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from qjob_tui.model import InstanceUsage, Job, JobStatus, Session, SessionMode, SessionState
from qjob_tui.ui.formatting import MISSING
from qjob_tui.ui.jobs.job_rows import JobRows
from qjob_tui.ui.sessions.session_rows import group_jobs, group_text, job_text, ttl_label
from qjob_tui.ui.status.usage_text import usage_text, usage_words

NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)


def job(job_id: str, minutes: float, status: JobStatus = JobStatus.DONE, **fields: object) -> Job:
    return Job(job_id, "local", status, NOW - timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]


def test_groups_come_newest_activity_first_with_their_jobs_newest_first() -> None:
    jobs = [
        job("a", 30, session_id="old"),
        job("b", 5, JobStatus.RUNNING, session_id="new"),
        job("c", 50, session_id="old"),
        job("d", 1),
        job("e", 20, JobStatus.QUEUED, session_id="new"),
    ]
    grouping = group_jobs(jobs, {})
    assert [g.key for g in grouping.groups] == [("local", "new"), ("local", "old")]
    assert [j.id for j in grouping.groups[1].jobs] == ["a", "c"]
    assert grouping.loose == 1
    assert grouping.groups[0].counts == {JobStatus.RUNNING: 1, JobStatus.QUEUED: 1}
    # The same rows with other contents have the same shape: relabelled, not rebuilt.
    changed = [replace(j, status=JobStatus.DONE) if j.id == "b" else j for j in jobs]
    assert group_jobs(changed, {}).shape == grouping.shape


def test_two_sources_with_the_same_session_id_are_two_groups() -> None:
    jobs = [job("a", 1, session_id="s"), replace(job("b", 2, session_id="s"), source="ibm")]
    assert len(group_jobs(jobs, {}).groups) == 2


def test_a_group_row_reads_mode_state_backend_ttl_counts_usage() -> None:
    session = Session(
        "s-1",
        "local",
        SessionMode.DEDICATED,
        SessionState.ACTIVE,
        backend="fake_cairo",
        max_ttl=3600,
        activated_at=NOW - timedelta(minutes=10),
        elapsed_seconds=90,
    )
    jobs = [job("a", 1, JobStatus.RUNNING, session_id="s-1"), job("b", 2, session_id="s-1")]
    group = group_jobs(jobs, {session.key: session}).groups[0]
    text = group_text(group, NOW).plain
    assert text.startswith("dedicated active")
    assert "fake_cairo" in text and "TTL 50 min" in text
    assert "▶ 1  ✔ 1" in text and "1 min 30 s used" in text and text.endswith("s-1")
    closing = group_text(replace(group, session=replace(session, accepting_jobs=False)), NOW)
    assert "active, closing" in closing.plain
    assert "↻ cancelling…" in group_text(group, NOW, intent="cancelling…").plain
    unknown = group_text(replace(group, session=None), NOW).plain
    assert unknown.startswith("session") and ttl_label(None, NOW) == MISSING


def test_server_strings_in_rows_are_plain_text() -> None:
    item = job("a", 1, name="[bold]x[/]\x1b[2J", session_id="s")
    text = job_text(item, NOW)
    assert "[bold]x[/]" in text.plain and "\x1b" not in text.plain
    assert not text.spans or all(span.style != "bold" for span in text.spans)


def test_usage_words_and_warning() -> None:
    assert usage_words(InstanceUsage(12)) == "12 s used"
    assert usage_words(InstanceUsage(300, 600)) == "5 min used, 5 min left (50 %)"
    assert usage_words(InstanceUsage(600, 600, True)) == "10 min used, limit reached"
    text = usage_text({"local": InstanceUsage(12), "ibm": InstanceUsage(570, 600)})
    assert text.plain.startswith("⚠ ibm")  # warnings first
    assert "30 s left (5 %)" in text.plain and "local 12 s used" in text.plain
    assert "⚠" not in usage_text({"ibm": InstanceUsage(539, 600)}).plain  # 10.2 % left


def test_only_my_jobs_filters_by_source_and_user() -> None:
    rows = JobRows(
        [
            job("mine", 1, user_id="me"),
            job("theirs", 2, user_id="them"),
            job("unknown", 3),
            replace(job("other-source", 4, user_id="me"), source="ibm"),
        ]
    )
    assert rows.set_owner_filter(frozenset({("local", "me")}))
    assert [j.id for j in rows] == ["mine"]
    rows.set_filter("the")  # filters combine
    assert len(rows) == 0
    rows.set_filter("")
    assert rows.set_owner_filter(None) and len(rows) == 4


def test_a_group_row_says_closed_once_and_its_columns_line_up() -> None:
    from tests.apps.dashboard_app import CLOCK, sample_jobs, sample_sessions

    sessions = {s.key: s for s in sample_sessions()}
    grouping = group_jobs(sample_jobs(), sessions)
    rows = [group_text(group, CLOCK).plain for group in grouping.groups]
    closed = next(row for row in rows if "closed" in row)
    assert closed.count("closed") == 1
    # A long state ("inactive, closing") does not run into the backend: the backend starts in
    # the same column on every row.
    closing = replace(sessions[grouping.groups[0].key], state=SessionState.INACTIVE)
    closing = replace(closing, accepting_jobs=False)
    group = replace(grouping.groups[0], session=closing)
    row = group_text(group, CLOCK).plain
    assert "inactive, closing fake_cairo" in row
    assert row.index("fake_cairo") == rows[0].index("fake_cairo")
