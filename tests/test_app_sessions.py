"""The grouped view, a session's detail and the session actions, driven by keys against the real
local service."""

from __future__ import annotations

import contextlib

from qjob_tui.api import JobClient, Source
from qjob_tui.api.errors import InvalidState
from qjob_tui.model import JobStatus, SessionMode, SessionState
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.session_view import SessionDetail
from qjob_tui.ui.dialogs.confirm_session import ConfirmSession
from qjob_tui.ui.sessions.session_tree import SessionTree
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess
from tests.test_app import LONG, until


def make_app(service: ServiceProcess, **kwargs: object) -> QJobApp:
    store = JobStore(
        [JobClient(Source.local(service.root))],
        StoreConfig(interval=0.2, calm_interval=0.2, session_interval=0.2, use_cache=False),
    )
    return QJobApp(store, **kwargs)  # type: ignore[arg-type]


async def open_session(
    service: ServiceProcess, mode: SessionMode, jobs: int
) -> tuple[str, list[str]]:
    """A session on the slow device with ``jobs`` long jobs: the first runs, the others wait."""
    async with JobClient(Source.local(service.root)) as client:
        session_id = await client.open_session("fake_cairo", mode)
        ids = [
            await client.submit([BELL], "fake_cairo", shots=LONG, session_id=session_id)
            for _ in range(jobs)
        ]
    return session_id, ids


async def end_session(service: ServiceProcess, session_id: str, ids: list[str]) -> None:
    """Cancel the session and its running job: the shared service's slow device is free for
    the next test (a session's cancel lets its running job finish, minutes later)."""
    async with JobClient(Source.local(service.root)) as client:
        await client.cancel_session(session_id)
        for job_id in ids:
            with contextlib.suppress(InvalidState):  # ended already
                await client.cancel(job_id)


async def server_session(service: ServiceProcess, session_id: str):  # type: ignore[no-untyped-def]
    async with JobClient(Source.local(service.root)) as client:
        return await client.session(session_id)


async def on_group_row(pilot, app: QJobApp, session_id: str) -> SessionTree:  # type: ignore[no-untyped-def]
    """Group the list with z and put the cursor on the session's row."""
    key = ("local", session_id)
    await until(pilot, lambda: app.store.session(key) is not None)
    await pilot.press("z")
    tree = app.query_one(SessionTree)
    await until(pilot, lambda: tree.select_key("session", key))
    await until(pilot, lambda: tree.cursor_session == key and app.screen.has_class("session-shown"))
    return tree


async def test_grouped_view_shows_the_session_and_its_jobs(service: ServiceProcess) -> None:
    session_id, ids = await open_session(service, SessionMode.BATCH, 2)
    app = make_app(service)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = await on_group_row(pilot, app, session_id)
        assert tree.has_focus and app.screen.has_class("grouped")
        group = next(g for g in tree.grouping.groups if g.key == ("local", session_id))
        assert {job.id for job in group.jobs} == set(ids)
        label = str(tree.cursor_node.label)  # type: ignore[union-attr]
        assert label.startswith("batch") and "fake_cairo" in label and session_id in label
        detail = str(app.query_one("#session-view").render())
        assert session_id in detail and "Accepting jobs  yes" in detail
        assert app.query_one(SessionDetail).display
        await pilot.press("down")  # onto the group's first job: the job's own tabs again
        await until(pilot, lambda: tree.cursor_job in {("local", i) for i in ids})
        assert not app.screen.has_class("session-shown")
        await pilot.press("z")  # back to the plain list, the cursor on the same job
        await until(pilot, lambda: not app.screen.has_class("grouped"))
    await end_session(service, session_id, ids)


async def test_cancel_a_session_asks_first_and_no_is_the_default(
    service: ServiceProcess,
) -> None:
    session_id, ids = await open_session(service, SessionMode.BATCH, 3)
    app = make_app(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_group_row(pilot, app, session_id)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSession))
        assert "Cancel this batch?" in str(app.screen.query_one("#title").render())
        await pilot.press("enter")  # the focused button is "No"
        await until(pilot, lambda: not isinstance(app.screen, ConfirmSession))
        assert (await server_session(service, session_id)).accepting_jobs
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSession))
        await pilot.press("y")
        key = ("local", session_id)
        jobs = [("local", job_id) for job_id in ids]

        def statuses() -> list[JobStatus | None]:
            return [(j := app.store.job(k)) and j.status for k in jobs]

        # Its waiting jobs are cancelled; one the device runs already finishes (IBM's rule),
        # so the batch closes only once that one ends.
        await until(
            pilot,
            lambda: (
                (s := app.store.session(key)) is not None
                and not s.accepting_jobs
                and statuses().count(JobStatus.CANCELLED) >= len(ids) - 1
            ),
        )
        assert set(statuses()) <= {JobStatus.CANCELLED, JobStatus.RUNNING}, statuses()
        async with JobClient(Source.local(service.root)) as client:
            for job_id, status in zip(ids, statuses(), strict=True):
                if status is JobStatus.RUNNING:
                    await client.cancel(job_id)
        await until(
            pilot,
            lambda: (s := app.store.session(key)) is not None and s.state is SessionState.CLOSED,
        )
    assert (await server_session(service, session_id)).state is SessionState.CLOSED


async def test_close_a_session_from_one_of_its_jobs(service: ServiceProcess) -> None:
    session_id, ids = await open_session(service, SessionMode.DEDICATED, 1)
    app = make_app(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_group_row(pilot, app, session_id)
        await pilot.press("down")  # on the job: C closes the job's session
        await until(pilot, lambda: app.query_one(SessionTree).cursor_job == ("local", ids[0]))
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSession))
        assert "Close this session?" in str(app.screen.query_one("#title").render())
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmSession))
        assert (await server_session(service, session_id)).accepting_jobs
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmSession))
        await pilot.press("y")
        key = ("local", session_id)
        await until(
            pilot,
            lambda: (
                (s := app.store.session(key)) is not None
                and not s.accepting_jobs
                and app.store.session_intent(key) is None
            ),
        )
    assert not (await server_session(service, session_id)).accepting_jobs
    await end_session(service, session_id, ids)


async def test_readonly_hides_the_session_actions(service: ServiceProcess) -> None:
    session_id, ids = await open_session(service, SessionMode.BATCH, 1)
    app = make_app(service, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_group_row(pilot, app, session_id)
        await pilot.press("c", "C")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmSession)
        assert not app.screen.check_action("close_session", ())
        assert not app.screen.check_action("cancel", ())
    assert (await server_session(service, session_id)).accepting_jobs
    await end_session(service, session_id, ids)


async def test_the_filter_narrows_the_groups(service: ServiceProcess) -> None:
    session_id, ids = await open_session(service, SessionMode.BATCH, 1)
    app = make_app(service)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = await on_group_row(pilot, app, session_id)
        await pilot.press("slash", *ids[0], "enter")
        await until(pilot, lambda: [g.key[1] for g in tree.grouping.groups] == [session_id])
        assert tree.has_focus  # back on the grouped view, not on the hidden list
        await pilot.press("slash", *"no-such-job", "enter")
        await until(pilot, lambda: not tree.grouping.groups)
        await pilot.press("escape")
        await until(pilot, lambda: len(tree.grouping.groups) >= 1 and tree.has_focus)
    await end_session(service, session_id, ids)
