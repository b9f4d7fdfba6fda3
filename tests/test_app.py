"""The dashboard driven by keys, as a person uses it, against the real local service."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from qjob_tui.api import JobClient, Source
from qjob_tui.api.client import redact
from qjob_tui.config import Settings
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import ChangeSet
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.log_view import LogView
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.detail.raw_view import RawView
from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel
from qjob_tui.ui.dialogs.help import HelpScreen
from qjob_tui.ui.dialogs.tag_editor import TagEditor
from qjob_tui.ui.dialogs.text_prompt import TextPrompt
from qjob_tui.ui.jobs.job_list import MARK_WIDTH, JobList
from qjob_tui.ui.jobs.job_rows import Column
from qjob_tui.ui.terminal.final_hook import run_final_hook
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess
from tests.test_daily_use import screen_text

LONG = 100_000  # shots: fake_cairo stays busy for minutes


def make_app(service: ServiceProcess, tmp_path: Path, **kwargs: object) -> QJobApp:
    store = JobStore(
        [JobClient(Source.local(service.root))],
        # Polled as without a stream: these tests count polls (the stream: test_stream.py).
        StoreConfig(interval=0.2, calm_interval=0.2, use_cache=False, use_stream=False),
    )
    return QJobApp(store, **kwargs)  # type: ignore[arg-type]


async def until(pilot: Pilot[int], predicate: Callable[[], bool], timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition never met")


async def submit(service: ServiceProcess, *, shots: int = LONG, **kwargs: object) -> str:
    async with JobClient(Source.local(service.root)) as client:
        return await client.submit([BELL], "fake_cairo", shots=shots, **kwargs)  # type: ignore[arg-type]


async def server_job(service: ServiceProcess, job_id: str):  # type: ignore[no-untyped-def]
    async with JobClient(Source.local(service.root)) as client:
        return await client.job(job_id)


def cell_text(job_list: JobList, row: int, column: Column) -> str:
    """What one cell of the list shows, as drawn."""
    line = job_list.render_line(row + 1 - job_list.scroll_offset.y).text
    left = MARK_WIDTH
    for spec, width in job_list._layout:
        if spec.column is column:
            return line[left : left + width].strip()
        left += width + 1
    raise AssertionError(f"{column} is not shown")


def help_text(screen: object) -> str:
    """The help screen's rows as lines of "keys  what they do"."""
    assert isinstance(screen, HelpScreen)
    return "\n".join(f"{keys}  {text}" for keys, text in screen.rows)


async def select(pilot: Pilot[int], app: QJobApp, job_id: str) -> None:
    """Filter the list down to one job, as a person would with /."""
    job_list = app.query_one(JobList)
    await until(pilot, lambda: job_list.rows.index_of(("local", job_id)) is not None)
    await pilot.press("slash", *job_id, "enter")
    await until(pilot, lambda: job_list.cursor_key == ("local", job_id))


async def test_cancel_asks_first_and_no_is_the_default(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = await submit(service)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
        assert job_id in str(app.screen.query_one("#cancel-list").render())
        await pilot.press("enter")  # the focused button is "No"
        await until(pilot, lambda: not isinstance(app.screen, ConfirmCancel))
        assert (await server_job(service, job_id)).status.is_active
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
        await pilot.press("escape")
        await pilot.pause()
        assert (await server_job(service, job_id)).status.is_active
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
        await pilot.press("y")
        key = ("local", job_id)
        await until(pilot, lambda: (j := app.store.job(key)) is not None and j.status.is_final)
    assert (await server_job(service, job_id)).status.value == "CANCELLED"


async def test_bulk_cancel_of_marked_jobs(service: ServiceProcess, tmp_path: Path) -> None:
    ids = [await submit(service, tags=["bulk"]) for _ in range(2)]
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        await until(
            pilot, lambda: all(job_list.rows.index_of(("local", i)) is not None for i in ids)
        )
        await pilot.press("slash", *"bulk", "enter")
        await until(pilot, lambda: len(job_list.rows) == 2)
        job_list.move_cursor(0)
        await pilot.press("space", "space")
        assert len(job_list.rows.marked) == 2
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
        assert "Cancel these 2 jobs?" in str(app.screen.query_one("#title").render())
        said: list[str] = []
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await pilot.press("y")
        await until(
            pilot,
            lambda: all(app.store.job(("local", i)).status.is_final for i in ids),  # type: ignore[union-attr]
        )
        await until(pilot, lambda: not job_list.rows.marked)
        # In plain words, as one job's "cancelled ID" (not "cancel: 2 jobs done", like DONE).
        await until(pilot, lambda: "cancelled 2 jobs" in said)
        assert not any("done" in line for line in said), said
    for job_id in ids:
        assert (await server_job(service, job_id)).status.value == "CANCELLED"


async def test_tags_add_remove_and_limits(service: ServiceProcess, tmp_path: Path) -> None:
    job_id = await submit(service, shots=10, tags=["one"])
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TagEditor))
        await pilot.press(*"two", "enter")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, TagEditor))
        key = ("local", job_id)
        await until(pilot, lambda: app.store.job(key).tags == ("one", "two"))  # type: ignore[union-attr]
        assert (await server_job(service, job_id)).tags == ("one", "two")

        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TagEditor))
        editor = app.screen
        assert isinstance(editor, TagEditor)
        await pilot.press("shift+tab")  # to the list of tags
        await pilot.press("delete")
        assert editor.tags == ["two"]
        for i in range(7):
            editor.query_one("#new-tag").focus()
            await pilot.press(*f"t{i}", "enter")
        assert len(editor.tags) == 8
        await pilot.press(*"ninth", "enter")
        assert "at most 8 tags" in str(editor.query_one("#limits").render())
        assert len(editor.tags) == 8
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, TagEditor))
        await until(pilot, lambda: len(app.store.job(key).tags) == 8)  # type: ignore[union-attr]
    tags = (await server_job(service, job_id)).tags
    assert tags[0] == "two" and len(tags) == 8 and "ninth" not in tags


async def test_filter_sort_and_status_filters(service: ServiceProcess, tmp_path: Path) -> None:
    job_id = await submit(service, shots=10, name="needle in the haystack")
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        await until(pilot, lambda: job_list.rows.index_of(("local", job_id)) is not None)
        total = len(job_list.rows)
        await pilot.press("slash", *"needle", "enter")
        await until(pilot, lambda: len(job_list.rows) == 1)
        await pilot.press("slash", "ctrl+u", *"!needle", "enter")
        await until(pilot, lambda: len(job_list.rows) == total - 1)
        await pilot.press("slash", "ctrl+u", *"re:(", "enter")
        assert app.query_one("#filter").has_class("error")
        await pilot.press("escape")
        await until(pilot, lambda: len(job_list.rows) == total)
        before = job_list.rows.sort_column
        await pilot.press("s")
        assert job_list.rows.sort_column != before
        reverse = job_list.rows.sort_reverse
        await pilot.press("S")
        assert job_list.rows.sort_reverse != reverse
        await pilot.press("f")
        assert job_list.rows.status_filter == "failed"
        assert all(job.status.value == "ERROR" for job in job_list.rows)
        await pilot.press("f")
        assert job_list.rows.status_filter is None


async def test_rename_export_and_help(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path))  # files are saved only under it
    job_id = await submit(service, shots=10)
    app = make_app(service, tmp_path)
    target = tmp_path / "jobs.csv"
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press(*"renamed", "enter")
        key = ("local", job_id)
        await until(pilot, lambda: app.store.job(key).name == "renamed")  # type: ignore[union-attr]
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("ctrl+u", *str(target), "enter")
        await until(pilot, lambda: target.exists())
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = help_text(app.screen)
        assert "c  cancel the selected job" in keys and "n  rename the selected job" in keys
        await pilot.press("escape")
    assert (await server_job(service, job_id)).name == "renamed"
    rows = list(csv.DictReader(target.open()))
    assert [row["id"] for row in rows] == [job_id]


async def test_readonly_hides_every_action_that_changes_a_job(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = await submit(service)
    app = make_app(service, tmp_path, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        footer_keys = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert not {"cancel", "tags", "rename"} & footer_keys
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Cancel jobs" not in titles and "Refresh now" in titles
        await pilot.press("c", "t", "n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCancel | TagEditor | TextPrompt)
    assert (await server_job(service, job_id)).status.is_active
    async with JobClient(Source.local(service.root)) as client:
        await client.cancel(job_id)


async def test_pause_and_refresh(service: ServiceProcess, tmp_path: Path) -> None:
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store.pollers["local"].polls > 0)
        await pilot.press("p")
        assert app.store.paused
        assert "paused" in str(app.query_one("#status").render())
        polls = app.store.pollers["local"].polls
        await asyncio.sleep(0.6)
        assert app.store.pollers["local"].polls == polls
        await pilot.press("p")
        await until(pilot, lambda: app.store.pollers["local"].polls > polls)


@pytest.mark.parametrize("size", [(80, 24), (250, 70)])
async def test_sizes(service: ServiceProcess, tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(service, tmp_path)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: len(app.query_one(JobList).rows) > 0)
        assert app.screen.has_class("narrow") == (size[0] < 110)


HADAMARDS = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[8];\ncreg c[8];\nh q;\nmeasure q -> c;\n'


async def test_random_bits_from_a_sampler_job(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path))  # files are saved only under it
    async with JobClient(Source.local(service.root)) as client:
        raw = await client.submit([HADAMARDS], "basic_simulator", shots=4096)
        while not (await client.job(raw)).status.is_final:
            await asyncio.sleep(0.1)
    app = make_app(service, tmp_path)
    target = tmp_path / "bits.txt"
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, raw)
        await until(pilot, lambda: app.store.job(("local", raw)).status.value == "DONE")  # type: ignore[union-attr]
        await pilot.press("x")
        extractor = [None]

        def found() -> bool:
            for job in app.store.all_jobs():
                if job.program == "random-extractor" and job.name == f"bits of {raw}":
                    extractor[0] = job.id  # type: ignore[assignment]
                    return job.status.value == "DONE"
            return False

        await until(pilot, found, timeout=60)
        await pilot.press("escape")
        await select(pilot, app, str(extractor[0]))
        app.query_one("#detail").active = "bits"  # type: ignore[attr-defined]
        bits_view = app.query_one("#bits-view")
        await until(pilot, lambda: "random bits" in str(bits_view.render()))
        shown = str(bits_view.render())
        assert "Quality checks" in shown and "frequency" in shown and "Hex" in shown
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("ctrl+u", *str(target), "enter")
        await until(pilot, lambda: target.exists())
    text = target.read_text().strip()
    assert set(text) <= {"0", "1"} and len(text) > 1000


async def test_notifies_only_when_a_watched_job_ends(
    service: ServiceProcess, tmp_path: Path
) -> None:
    finished = await submit(service, shots=10)
    while not (await server_job(service, finished)).status.is_final:
        await asyncio.sleep(0.05)
    running = await submit(service)
    app = make_app(service, tmp_path)
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await select(pilot, app, finished)
        await pilot.pause(0.5)
        assert not [m for m in said if finished in m]  # it ended long ago: no news
        await pilot.press("escape")
        await select(pilot, app, running)
        async with JobClient(Source.local(service.root)) as client:
            await client.cancel(running)
        await until(pilot, lambda: any(running in m and "cancelled" in m for m in said))


async def test_a_job_sent_after_the_start_keeps_its_age_after_it_changed(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """The tester's report: a job sent while the dashboard runs, seen active and then ended,
    read "4 s ago" nine minutes later. Its row's age follows the clock like the others'."""
    ahead = [timedelta()]
    app = make_app(service, tmp_path, clock=lambda: datetime.now(UTC) + ahead[0])

    def row(job_id: str) -> str:
        return next((line for line in screen_text(app).splitlines() if job_id in line), "")

    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: any(h.ok for h in app.store.health))
        job_id = await submit(service)
        try:
            await until(pilot, lambda: "queued" in row(job_id) or "running" in row(job_id))
        finally:
            async with JobClient(Source.local(service.root)) as client:
                await client.cancel(job_id)
        await until(pilot, lambda: "cancelled" in row(job_id))
        ahead[0] = timedelta(minutes=10)
        await until(pilot, lambda: "10 min ago" in row(job_id))
        ahead[0] = timedelta(hours=2)
        await until(pilot, lambda: "2 h ago" in row(job_id))


async def test_b_shows_the_backends_when_narrow_and_gives_details_room_when_wide() -> None:
    from tests.apps.dashboard_app import make_app as fixed_app

    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        detail, queue = app.query_one("#detail"), app.query_one("#queue")
        assert detail.display and queue.styles.display == "none"
        await pilot.press("b")
        await pilot.pause()
        assert queue.styles.display == "block" and detail.styles.display == "none"
        assert "basic_simulator" in str(queue.render())
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert queue.styles.display == "none" and detail.styles.display == "block"
        await pilot.press("b")
        await pilot.pause()
        assert queue.styles.display == "block" and detail.styles.display == "block"


async def test_help_shows_remapped_keys() -> None:
    from tests.apps.dashboard_app import make_app as fixed_app

    app = fixed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.set_keymap({"app.toggle_queue": "B", "app.quit": "q,Q"})
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = help_text(app.screen)
        assert "B  show or hide the backends pane" in text
        assert "q Q  Quit" in text


async def test_queued_jobs_show_their_place_in_the_queue(
    service: ServiceProcess, tmp_path: Path
) -> None:
    ids = [await submit(service, tags=["queue-place"]) for _ in range(3)]
    app = make_app(service, tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            job_list = app.query_one(JobList)

            def placed() -> list[str]:
                jobs = [app.store.job(("local", i)) for i in ids]
                return [j.id for j in jobs if j is not None and j.queue.position is not None]

            # The last one: the first may start at any moment (a running job has no place),
            # and the jobs ahead of the last run for minutes.
            job_id = ids[-1]
            await until(pilot, lambda: job_id in placed())
            await pilot.press("slash", *job_id, "enter")
            await until(pilot, lambda: job_list.cursor_key == ("local", job_id))

            def shown_as_stored() -> bool:
                job = app.store.job(("local", job_id))
                position = None if job is None else job.queue.position
                return position is not None and cell_text(job_list, 0, Column.QUEUE) == str(
                    position
                )

            await until(pilot, shown_as_stored)
    finally:
        async with JobClient(Source.local(service.root)) as client:
            for job_id in ids:
                await client.cancel(job_id)


async def test_log_tab_follows_a_running_job_and_raw_tab_shows_the_json(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = await submit(service, tags=["log-follow"])
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        await pilot.press("l")
        assert app.query_one(JobDetail).active == "log"
        log = app.query_one(LogView)
        await until(pilot, lambda: " running\n" in log.text, timeout=90)
        async with JobClient(Source.local(service.root)) as client:
            await client.cancel(job_id)
        await until(pilot, lambda: " cancelled" in log.text)
        assert log.text.count(" running\n") == 1  # the new line was appended, nothing twice
        assert "cancelled" in log.lines[-1]
        await pilot.press("v")
        raw = app.query_one(RawView)
        await until(pilot, lambda: '"Cancelled"' in raw.json_text)
        body = json.loads(raw.json_text)
        assert body["job"]["id"] == job_id and body["job"]["tags"] == ["log-follow"]
        assert "running" in body["metrics"]["timestamps"]


def test_raw_json_never_holds_a_secret() -> None:
    body = {
        "job": {"id": "j1", "note": "Bearer sk-12345678 was used", "api_key": "k-1"},
        "metrics": [{"access_token": "t-99", "n": 1}],
    }
    clean = redact(body, ["sk-12345678"])
    text = json.dumps(clean)
    assert "sk-12345678" not in text and "k-1" not in text and "t-99" not in text
    assert clean["job"]["id"] == "j1" and clean["metrics"][0]["n"] == 1


async def test_on_final_hook_runs_once_for_a_watched_job(
    service: ServiceProcess, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    command = f'cat > "{tmp_path}/$QJOB_ID.json"; echo "$QJOB_ID $QJOB_STATUS" >> "{runs}"'
    watched = await submit(service, tags=["hooked"])
    other = await submit(service, tags=["not-watched"])
    settings = Settings(on_final=command, on_final_timeout=20)
    app = make_app(service, tmp_path, settings=settings)
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await select(pilot, app, watched)
        async with JobClient(Source.local(service.root)) as client:
            await client.cancel(watched)
            await client.cancel(other)
        await until(pilot, lambda: len(app.hook_runs) == 1)
        polls = app.store.pollers["local"].polls
        await until(pilot, lambda: app.store.pollers["local"].polls >= polls + 3)
        assert [run.job_id for run in app.hook_runs] == [watched] and not app.hook_runs[0].problem
        assert not any(other in message for message in said)  # not watched: no news
    assert runs.read_text() == f"{watched} CANCELLED\n"
    body = json.loads((tmp_path / f"{watched}.json").read_text())
    assert body["id"] == watched and body["status"] == "CANCELLED" and body["tags"] == ["hooked"]


async def test_a_server_switch_forgets_which_jobs_the_hook_ran_for(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """The hook runs once per job of a server: when another server answers at the source's
    address, a job of the same id there is another job, and its end runs the hook again."""
    from tests.apps.dashboard_app import sample_jobs

    job = sample_jobs()[7]
    settings = Settings(on_final="true", on_final_timeout=20)
    app = make_app(service, tmp_path, settings=settings, start_store=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.jobs_ended([job], {job.key})
        await until(pilot, lambda: len(app.hook_runs) == 1)
        app.store.bus.publish(ChangeSet(switched=(job.source,)))  # as the poller announces it
        await pilot.pause()
        app.jobs_ended([job], {job.key})
        await until(pilot, lambda: len(app.hook_runs) == 2)
        assert [run.job_id for run in app.hook_runs] == [job.id, job.id]


async def test_final_hook_failures_are_reported_not_raised() -> None:
    from tests.apps.dashboard_app import sample_jobs

    job = sample_jobs()[7]
    failed = await run_final_hook("echo broken >&2; exit 3", job)
    assert failed.problem == f"on_final for {job.id} exited 3: broken"
    slow = await run_final_hook("sleep 30", job, timeout=1)
    assert slow.problem == f"on_final for {job.id} took over 1 s; stopped"
    fine = await run_final_hook('test "$QJOB_STATUS" = DONE && grep -q GHZ', job)
    assert fine.problem is None


def _gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its reaper has ended too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def test_a_stopped_hook_leaves_none_of_its_processes_running(tmp_path: Path) -> None:
    """``sh -c`` forks the command: stopping the hook stops the command and its children too."""
    from tests.apps.dashboard_app import sample_jobs

    job = sample_jobs()[7]
    pids = tmp_path / "pids"
    command = f"sleep 60 & echo $! > {pids}; sleep 60 & echo $! >> {pids}; wait"
    try:
        slow = await asyncio.wait_for(run_final_hook(command, job, timeout=1), 30)
    except TimeoutError:
        raise AssertionError("the hook's children kept it waiting after its timeout") from None
    assert slow.problem == f"on_final for {job.id} took over 1 s; stopped"
    children = [int(pid) for pid in pids.read_text().split()]
    assert len(children) == 2
    for _ in range(100):  # SIGKILL is delivered at once; the reaper may take a moment
        if all(_gone(pid) for pid in children):
            break
        await asyncio.sleep(0.05)
    assert [pid for pid in children if not _gone(pid)] == []
