"""``SourceState``'s methods: what each event does to a source's state, and nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from qjob_tui.api.client import JobPage
from qjob_tui.model import Backend, BackendState, Job, JobStatus, Session, SessionMode, SessionState
from qjob_tui.store.cache import JobCache
from qjob_tui.store.state import CREATED_MARGIN, Delta, SourceState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job(n: int, status: JobStatus = JobStatus.DONE) -> Job:
    """Job ``j<n>``, created ``n`` minutes after T0."""
    return Job(id=f"j{n}", source="local", status=status, created=T0 + timedelta(minutes=n))


def page(jobs: list[Job], count: int, limit: int = 3, offset: int = 0) -> JobPage:
    return JobPage(jobs=tuple(jobs), count=count, offset=offset, limit=limit)


def test_the_identity_and_the_submitted_jobs_are_the_states_own() -> None:
    state = SourceState("local")
    state.identity_learned("qjob-tui abc")
    state.job_submitted("j1")
    assert state.identity == "qjob-tui abc" and state.submitted == {"j1"}
    assert SourceState("local").submitted == set()  # a switch's new state starts empty


def test_an_opened_cache_shows_its_newest_jobs_then_the_rest(tmp_path: Path) -> None:
    cache = JobCache.for_source("local", tmp_path, identity="qjob-tui abc")
    try:
        assert cache.save([job(n) for n in range(1, 6)], ["j9"], {"history": "complete"})
        first, after = cache.newest(2)
        state = SourceState("local", "qjob-tui abc")
        shown = state.cache_opened(cache, first, after)
        assert [j.id for j in shown] == ["j5", "j4"] and state.cache is cache
        assert state.cursors.rest_due and state.cursors.newest == job(5).created
        added = state.rest_loaded(
            cache.older(after), cache.active_ids(), cache.marks(), backfill=True
        )
        assert {j.id for j in added} == {"j1", "j2", "j3"}
        assert not state.cursors.rest_due and state.cursors.history_complete
        assert state.cursors.due == {"j9"}  # active at the last stop: followed by id
    finally:
        cache.close()


def test_a_cache_without_marks_has_its_history_read_again() -> None:
    state = SourceState("local")
    state.rest_loaded([job(1)], [], {}, backfill=True)
    assert not state.cursors.history_complete and state.cursors.history_before is None
    partial = SourceState("local")
    partial.rest_loaded(
        [job(1)], [], {"history": "partial", "history_before": T0.isoformat()}, backfill=True
    )
    assert partial.cursors.history_before == T0 and not partial.cursors.history_complete
    unread = SourceState("local", backfill=False)
    unread.rest_loaded([job(1)], [], {}, backfill=False)
    assert unread.cursors.history_complete  # no backfill: nothing older is asked for


def test_what_is_unsaved_until_the_cache_holds_it() -> None:
    state = SourceState("local")
    delta = Delta()
    state.apply_listed(job(1), 0, delta)
    state.apply_listed(job(2, JobStatus.RUNNING), 0, delta)
    unsaved = state.unsaved()
    assert unsaved is not None
    ids, jobs, active = unsaved
    assert ids == ["j1"] and [j.id for j in jobs] == ["j1"] and active == ["j2"]
    state.cache_saved(ids, active)
    assert state.unsaved() is None


def test_a_cold_start_primes_the_history_and_its_cursors() -> None:
    state = SourceState("local")
    assert not state.primed_by_cache()
    delta = Delta()
    jobs = [job(3), job(2), job(1)]
    state.apply_first_pages(jobs, page(jobs, count=10), 0, delta)
    cursors = state.cursors
    assert cursors.primed and cursors.newest == job(3).created
    assert cursors.history_before == job(1).created and not cursors.history_complete
    assert cursors.total == 10 and set(delta.added) == {"j1", "j2", "j3"}
    whole = SourceState("local")
    whole.apply_first_pages([job(1)], page([job(1)], count=1), 0, Delta())
    assert whole.cursors.history_complete
    warm = SourceState("local")
    warm.take_cached([job(1)])
    assert warm.primed_by_cache() and warm.cursors.primed


def test_an_older_page_moves_the_history_back_or_turns_to_offsets() -> None:
    state = SourceState("local")
    state.apply_first_pages([job(9), job(8), job(7)], page([job(9), job(8), job(7)], 9), 0, Delta())
    before = state.cursors.history_before
    state.apply_older_page(page([job(6), job(5), job(4)], 9), before, 0, Delta())
    assert state.cursors.history_before == job(4).created
    # The server ignores created_before: the same newest page again, nothing older, nothing new.
    stuck = SourceState("local")
    newest = [job(9), job(8), job(7)]
    stuck.apply_first_pages(newest, page(newest, 9), 0, Delta())
    stuck.apply_older_page(page(newest, 9), stuck.cursors.history_before, 0, Delta())
    assert stuck.cursors.history_offset == 3 and stuck.cursors.history_before == job(7).created
    # Only jobs at the cursor's edge, some new: step back a millisecond.
    edge = SourceState("local")
    edge.apply_first_pages(newest, page(newest, 9), 0, Delta())
    at_edge = [
        job(7),
        Job(id="twin", source="local", status=JobStatus.DONE, created=job(7).created),
        job(8),
    ]
    edge.apply_older_page(page(at_edge, 9), job(7).created, 0, Delta())
    assert edge.cursors.history_before == job(7).created - CREATED_MARGIN
    # A short page: the history is whole.
    end = SourceState("local")
    end.apply_older_page(page([job(1)], 1), T0 + timedelta(hours=1), 0, Delta())
    assert end.cursors.history_complete and end.cursors.marks_dirty


def test_offset_paging_that_brings_nothing_new_is_said_once() -> None:
    state = SourceState("local")
    newest = [job(9), job(8), job(7)]
    state.apply_first_pages(newest, page(newest, 20), 0, Delta())
    assert state.apply_offset_page(page([job(6), job(5), job(4)], 20), 3, 0, Delta()) is None
    assert state.cursors.history_offset == 6
    said = state.apply_offset_page(page(newest, 20), 6, 0, Delta())
    assert said is not None and said.startswith("local: older history cannot be paged")
    assert state.cursors.history_stuck == said
    whole = SourceState("local")
    assert whole.apply_offset_page(page([job(1)], 1), 0, 0, Delta()) is None
    assert whole.cursors.history_complete


def test_the_pending_list_settles_which_jobs_are_read_by_id() -> None:
    state = SourceState("local")
    delta = Delta()
    for n in (1, 2):
        state.apply_listed(job(n, JobStatus.RUNNING), 0, delta)
    state.cursors.due.add("j1")  # (a test arranging the state: the scan covers qjob_tui only)
    state.pending_listed({"j1"})
    assert state.cursors.due == set()
    state.missing_from_pending({"j1"})
    assert state.cursors.due == {"j2"}  # active, not on the whole pending list
    state.metrics_wanted(["j1", "j2"])
    state.metrics_gone("j1")
    assert state.cursors.needs_metrics == {"j2"}


def test_reconciliation_and_rounds() -> None:
    state = SourceState("local")
    state.reconcile_planned(10.0)
    state.round_failed()
    assert state.cursors.reconcile_due and state.cursors.next_reconcile == 10.0
    state.reconciled(20.0)
    assert not state.cursors.reconcile_due and state.cursors.next_reconcile == 20.0
    # A pushed change newer than a round's start wins over the round's answer, until no round
    # is under way any more.
    state.apply_streamed("j1", job(1, JobStatus.RUNNING), Delta())
    state.apply_listed(job(1, JobStatus.QUEUED), 0, Delta())
    assert state.jobs["j1"].status is JobStatus.RUNNING
    state.rounds_settled()
    state.apply_listed(job(1), state.revision, Delta())
    assert state.jobs["j1"].status is JobStatus.DONE


def test_a_polled_backends_reading_plans_the_next() -> None:
    state = SourceState("local")
    backend = Backend(name="fake", source="local", state=BackendState.ONLINE, queue_length=2)
    assert state.apply_backends([backend], T0, next_reading=30.0) == (backend,)
    assert state.cursors.next_backends == 30.0
    state.apply_backends([backend], T0)  # a push's reading: the cadence stays
    assert state.cursors.next_backends == 30.0 and len(state.queue_history["fake"]) == 2


def test_a_session_action_is_shown_then_settled_or_rolled_back() -> None:
    state = SourceState("local")
    open_ = Session(id="s1", source="local", mode=SessionMode.BATCH, state=SessionState.OPEN)
    assert state.session_acting("s1", "closing…") is None  # unknown
    state.apply_session(open_)
    acting = state.session_acting("s1", "closing…")
    assert acting is not None and not acting.accepting_jobs
    assert state.session_intents == {"s1": "closing…"}
    state.session_refused("s1", open_)
    assert state.sessions["s1"] == open_ and state.session_intents == {}
    state.session_acting("s1", "cancelling…")
    state.session_acted("s1")
    assert state.session_intents == {} and not state.sessions["s1"].accepting_jobs


def test_what_the_server_says_of_its_sessions_and_user() -> None:
    state = SourceState("local")
    state.session_missing("gone")
    state.own_user_learned("user-1")
    assert state.missing_sessions == {"gone"} and state.own_user == "user-1"
    state.workloads_unsupported()
    assert state.no_workloads
