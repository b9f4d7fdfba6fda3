"""The dashboard: job list, detail and queue panes, status line, and the keyboard actions.

The app renders the store's state and sends user actions to the store; it never calls the job
services itself. Store news arrives as ``StoreChanged`` messages; actions run in workers and
report back with ``ActionsDone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Input

from qjob_tui import locations
from qjob_tui.config import SettingNotSaved, Settings, save_setting
from qjob_tui.export import job_to_dict, jobs_to_csv
from qjob_tui.model import ExtractorResult, InstanceUsage, Job, JobStatus
from qjob_tui.store import JobStore
from qjob_tui.store.changes import ChangeSet, JobKey, SessionKey
from qjob_tui.text import one_line
from qjob_tui.ui.backends.queue_pane import QueuePane
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.detail.session_view import SessionDetail
from qjob_tui.ui.jobs.job_list import COLUMN_SPECS, JobList
from qjob_tui.ui.jobs.job_rows import Column
from qjob_tui.ui.keys import check_keymap, ids_of
from qjob_tui.ui.messages import ActionsDone, StoreChanged
from qjob_tui.ui.palette import binding_commands
from qjob_tui.ui.sessions.session_rows import group_jobs
from qjob_tui.ui.sessions.session_tree import SessionTree
from qjob_tui.ui.status.footer import SteadyFooter
from qjob_tui.ui.status.status_line import StatusLine
from qjob_tui.ui.terminal.final_hook import HookOutcome, run_final_hook
from qjob_tui.ui.terminal.hangup import current_watchdog
from qjob_tui.ui.terminal.partial_update import CroppedUpdates

if TYPE_CHECKING:
    from qjob_tui.ui.dialogs.confirm_session import SessionVerb

# The dialogs are imported where they open: the first paint needs none of them.

HOOKS_AT_ONCE = 4  # on_final commands running at the same time; more wait their turn

# Actions that change a job: gone from the footer, the palette and the keys with --readonly.
MUTATING = frozenset({"cancel", "tags", "rename", "extract", "close_session"})
NARROW = 110  # below this width the panes stack and the backends pane hides behind "b"
# Below this width the list takes the whole width (status, id, name, backend, created, duration
# and tags fit from 120 columns) and the detail and backends panes share the lower half.
STACKED = 170


EMPTY_HINT = "Send one: qjob-tui submit circuit.qasm\nWatch a demo: qjob-tui demo"
_FILTER_HELP = "filter the list: text or re:regex over id, name, tags, backend, status; ! inverts"
_CANCEL_HELP = "cancel the selected job, or every marked one (asks first)"


def can_open_browser(env: Mapping[str, str] | None = None) -> bool:
    """Whether a graphical browser can open here: not over SSH, and a desktop to open it on.

    Without one, Python's ``webbrowser`` would start a text browser in this very terminal.
    """
    env = os.environ if env is None else env
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY"):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def saving_path(typed: str) -> Path:
    """Where a file the user named goes: a bare or relative name into the downloads folder
    (never the current directory, which under ``make run`` is the project's checkout)."""
    path = Path(typed.strip()).expanduser()
    return path if path.is_absolute() else locations.downloads_dir() / path


def remappable_ids() -> frozenset[str]:
    """Every binding id of the dashboard and its dialogs: what a keymap may name."""
    from qjob_tui.ui.dialogs.column_chooser import ColumnChooser
    from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel
    from qjob_tui.ui.dialogs.help import HelpScreen
    from qjob_tui.ui.dialogs.tag_editor import TagEditor
    from qjob_tui.ui.dialogs.text_prompt import TextPrompt

    return ids_of(
        QJobApp.BINDINGS,
        JobList.BINDINGS,
        ConfirmCancel.BINDINGS,
        TagEditor.BINDINGS,
        TextPrompt.BINDINGS,
        HelpScreen.BINDINGS,
        ColumnChooser.BINDINGS,
    )


class QJobApp(CroppedUpdates, App[int]):
    """k9s for quantum jobs."""

    CSS_PATH = "app.tcss"
    TITLE = "qjob-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("slash", "filter", "Filter", tooltip=_FILTER_HELP, id="app.filter"),
        # Both keys here: Textual adds its own ctrl+p only when no binding opens the palette,
        # so binding ":" alone left ctrl+p doing nothing (in tmux, screen, xterm alike).
        Binding(
            "colon",
            "command_palette",
            "Commands",
            show=False,
            tooltip="command palette: every action by name, themes",
            id="app.commands",
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            "Commands",
            show=False,
            priority=True,
            tooltip="command palette: every action by name, themes",
            id="app.palette",
        ),
        Binding("c", "cancel", "Cancel", tooltip=_CANCEL_HELP, id="app.cancel"),
        Binding("t", "tags", "Tags", tooltip="edit the tags of the selected job", id="app.tags"),
        Binding(
            "n", "rename", "Rename", show=False, tooltip="rename the selected job", id="app.rename"
        ),
        Binding("r", "refresh", "Refresh", tooltip="poll every source now", id="app.refresh"),
        Binding("p", "pause", "Pause", tooltip="pause or resume polling", id="app.pause"),
        Binding(
            "e",
            "export",
            "Export",
            show=False,
            tooltip="save the visible rows as CSV or JSON",
            id="app.export",
        ),
        Binding(
            "a",
            "status_filter('active')",
            "Active",
            show=False,
            tooltip="show only queued and running jobs (again: all)",
            id="app.only_active",
        ),
        Binding(
            "f",
            "status_filter('failed')",
            "Failed",
            show=False,
            tooltip="show only failed jobs (again: all)",
            id="app.only_failed",
        ),
        Binding(
            "b",
            "toggle_queue",
            "Backends",
            show=False,
            tooltip="show or hide the backends pane (narrow terminals: instead of the details)",
            id="app.toggle_queue",
        ),
        Binding(
            "escape",
            "clear_filter",
            "Clear filter",
            show=False,
            tooltip="clear the filter",
            id="app.clear_filter",
        ),
        Binding(
            "l",
            "show_tab('log')",
            "Log",
            show=False,
            tooltip="the job's log, followed while it runs",
            id="app.log",
        ),
        Binding(
            "v",
            "show_tab('raw')",
            "Raw",
            show=False,
            tooltip="the job and its metrics as the server sent them (JSON, secrets masked)",
            id="app.raw",
        ),
        Binding(
            "o",
            "columns",
            "Columns",
            show=False,
            tooltip="choose the job list's columns (kept in config.toml)",
            id="app.columns",
        ),
        Binding(
            "x",
            "extract",
            "Extract random bits",
            show=False,
            tooltip="extract random bits from the selected finished sampler job",
            id="app.extract",
        ),
        Binding(
            "y",
            "copy",
            "Copy id",
            show=False,
            tooltip="copy the job's id (on the Random bits tab: the bits) to the clipboard",
            id="app.copy",
        ),
        Binding(
            "O",
            "open_page",
            "Open in browser",
            show=False,
            tooltip="open the job's page on IBM Quantum Platform (or show its address)",
            id="app.open_page",
        ),
        Binding(
            "z",
            "group",
            "Sessions",
            show=False,
            tooltip="group the jobs by session or batch (again: the plain list)",
            id="app.group",
        ),
        Binding(
            "C",
            "close_session",
            "Close session",
            show=False,
            tooltip="close the selected session or batch: it accepts no new jobs (asks first)",
            id="app.close_session",
        ),
        Binding(
            "m",
            "only_mine",
            "Only mine",
            show=False,
            tooltip="show only the jobs the account submitted, where the server says (again: all)",
            id="app.only_mine",
        ),
        Binding(
            "w",
            "save_bits",
            "Save random bits",
            show=False,
            tooltip="save the random bits shown to a file",
            id="app.save_bits",
        ),
    ]

    def __init__(
        self,
        store: JobStore,
        *,
        settings: Settings | None = None,
        readonly: bool = False,
        notices: list[str] | None = None,
        clock: Callable[[], datetime] | None = None,
        start_store: bool = True,
        config_path: Path | None = None,
    ) -> None:
        """``config_path`` is where choices made in the app (columns) are saved."""
        super().__init__()
        self.store = store
        self.clock = clock
        self.start_store = start_store
        self.config_path = config_path
        self.settings = settings or Settings()
        self.readonly = readonly or self.settings.readonly
        self._notices = list(notices or [])
        self._unsubscribe = store.subscribe(
            lambda changes: self.post_message(StoreChanged(changes))
        )
        self._counts_dirty = True
        self._counts: Counter[JobStatus] = Counter()
        self._active: set[JobKey] = set()  # jobs last seen queued or running
        self._hooked: set[JobKey] = set()  # jobs the on_final hook ran (or runs) for
        self._hook_slots = asyncio.Semaphore(HOOKS_AT_ONCE)
        self.hook_runs: list[HookOutcome] = []
        if self.settings.theme:
            self.theme = self.settings.theme

    # --- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The layout's classes before the widgets mount: set later, each restyles every widget.
        self._arrange(self.size.width)
        several = len(self.store.pollers) > 1
        with Horizontal(id="body"):
            yield JobList(
                id="jobs",
                show_source=several,
                intent_of=self.store.intent,
                clock=self.clock,
                empty_hint=EMPTY_HINT if self._has_local_source() else "",
            )
            yield SessionTree(
                id="sessions",
                clock=self.clock,
                job_intent=self.store.intent,
                session_intent=self.store.session_intent,
            )
            with Vertical(id="side"):
                yield JobDetail(self.store, clock=self.clock, id="detail")
                yield SessionDetail(id="session-detail")
                yield QueuePane(id="queue")
        filter_input = Input(placeholder="filter: text, re:regex, !not (esc clears)", id="filter")
        filter_input.display = False  # until "/": hidden from the first layout on
        yield filter_input
        yield StatusLine(id="status")
        yield SteadyFooter()

    def _has_local_source(self) -> bool:
        return any(source.local for source in self.store.sources)

    async def on_mount(self) -> None:
        if self.settings.keymap:
            keymap, problems = check_keymap(self.settings.keymap, remappable_ids())
            self._notices.extend(problems)
            self.set_keymap(keymap)
        job_list = self.query_one(JobList)
        if self.settings.columns is not None:
            job_list.hidden_columns = self._hidden_from_settings(self.settings.columns)
        sources = self.store.sources
        job_list.border_title = "jobs · " + " · ".join(f"{s.name} {s.url}" for s in sources)
        self.query_one(QueuePane).border_title = "backends"
        self.query_one(SessionTree).border_title = "sessions and batches"
        job_list.focus()
        self._arrange(self.size.width)
        for notice in self._notices:
            self.notify(notice, severity="warning", timeout=10)
        self._watch_terminal()
        self.set_interval(1.0, self._tick)
        if self.start_store:
            # The newest screenful of the cache now; the older jobs and the polls after the
            # first frame is on the terminal (``start`` publishes them as they come).
            await self.store.open()
            self.call_after_refresh(self._start_store)
        else:
            self._show_status()
            self._show_queue()

    def _start_store(self) -> None:
        self.run_worker(self.store.start(), name="store-start", group="store")

    def _hidden_from_settings(self, names: tuple[str, ...]) -> frozenset[Column]:
        known = {column.value for column in Column}
        for name in names:
            if name not in known:
                self._notices.append(
                    f"config.toml: unknown column {one_line(name, 40)!r} in columns; "
                    f"known: {', '.join(sorted(known))}"
                )
        return frozenset(c for c in Column if c.value not in names)

    async def on_unmount(self) -> None:
        self._unsubscribe()
        await self.store.stop()

    def on_resize(self, event: events.Resize) -> None:
        # This handler runs before App's own, so ``self.size`` is still the old size here.
        self._arrange(event.size.width)

    def _arrange(self, width: int) -> None:
        self.screen.set_class(width < NARROW, "narrow")
        self.screen.set_class(NARROW <= width < STACKED, "medium")

    # --- terminal ------------------------------------------------------------------------

    def _watch_terminal(self) -> None:
        """Exit cleanly when the terminal goes away (an SSH connection drops); the program's
        watchdog (ui/terminal/hangup.py) notices it even when the event loop is stuck."""
        watchdog = current_watchdog()
        if watchdog is not None:
            loop = asyncio.get_running_loop()
            watchdog.exit_app = lambda: loop.call_soon_threadsafe(self.exit)
            return
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)

    @property
    def _dashboard_up(self) -> bool:
        return self.is_running and bool(self.query(JobList))

    def _tick(self) -> None:
        if not self._dashboard_up:
            return
        if sys.__stdin__ is not None and not self.is_headless:
            with contextlib.suppress(ValueError, OSError):
                if not os.isatty(sys.__stdin__.fileno()):
                    self.exit(0)
                    return
        self._show_status()
        if self.grouped:  # TTLs and ages move with the clock: relabel, the rows stay
            tree = self.query_one(SessionTree)
            tree.show_grouping(tree.grouping, len(self.store.pollers) > 1)
            self._show_session()

    # --- store news ----------------------------------------------------------------------

    def on_store_changed(self, message: StoreChanged) -> None:
        if not self._dashboard_up:
            return  # news that arrives while the app closes, or before it is laid out
        changes = message.changes
        job_list = self.query_one(JobList)
        if changes.added or changes.changed or changes.removed or changes.intents:
            job_list.apply_changes(changes)
            self._counts_dirty = True
        detail = self.query_one(JobDetail)
        shown = detail.key
        if shown is not None and (
            any(j.key == shown for j in changes.changed)
            or shown in changes.intents
            or shown in changes.removed
        ):
            detail.refresh_views()
        self._notify_finished(changes)
        for notice in changes.notices:
            self.notify(notice, severity="warning", timeout=10)
        if changes.backends or changes.changed or changes.added:
            self._show_queue()
        if changes.health or changes.added or changes.changed or changes.removed or changes.usage:
            self._show_status()
        if self.grouped and (
            changes.sessions or changes.added or changes.changed or changes.removed
        ):
            self._show_groups()
            self._show_session()

    def _notify_finished(self, changes: ChangeSet) -> None:
        """Tell when a watched job goes from active to final, and run the on_final hook.

        Watched: marked, on screen, or submitted from this dashboard. ``notify = "all"`` in
        the config tells of every job, ``"off"`` of none; the hook runs for watched jobs only,
        once per job.
        """
        ended = []
        for job in (*changes.added, *changes.changed):
            if job.status.is_active:
                self._active.add(job.key)
            elif job.key in self._active:
                self._active.discard(job.key)
                ended.append(job)
        for key in changes.removed:
            self._active.discard(key)
        if not ended:
            return
        watched = set(self.query_one(JobList).rows.marked) | self.store.submitted
        shown = self.query_one(JobDetail).key
        if shown is not None:
            watched.add(shown)
        mode = self.settings.notify
        for job in ended:
            if job.key in watched and self.settings.on_final and job.key not in self._hooked:
                self._hooked.add(job.key)
                self.run_hook(job)
            if mode == "off" or (mode == "watched" and job.key not in watched):
                continue
            severity = "error" if job.status is JobStatus.ERROR else "information"
            self.notify(f"{job.id} {job.status.value.lower()}", severity=severity)
            if self.settings.bell:
                self.bell()

    @work(group="hooks", exit_on_error=False)
    async def run_hook(self, job: Job) -> None:
        assert self.settings.on_final is not None
        async with self._hook_slots:
            outcome = await run_final_hook(
                self.settings.on_final, job, self.settings.on_final_timeout
            )
        self.hook_runs.append(outcome)
        if outcome.problem is not None:
            self.notify(outcome.problem, severity="error", timeout=10)

    def _show_status(self) -> None:
        if self._counts_dirty:
            self._counts = Counter(job.status for job in self.store.all_jobs())
            self._counts_dirty = False
        self.query_one(StatusLine).show(
            self.store.health,
            self._counts,
            self.store.paused,
            self.store.config.interval,
            usage=self._shown_usage(),
        )

    def _shown_usage(self) -> dict[str, InstanceUsage]:
        """The usage worth a place on the status line: every IBM instance's, and a local
        service's only when it has a limit (``serve --usage-limit``)."""
        shown = {}
        for source, usage in self.store.usage.items():
            local = source in self.store.pollers and self.store.source_info(source).local
            if usage.limit_seconds is not None or not local:
                shown[source] = usage
        return shown

    def _show_queue(self) -> None:
        backends = self.store.backends
        history = {(b.source, b.name): self.store.queue_history(b.source, b.name) for b in backends}
        mine: Counter[tuple[str, str]] = Counter()
        for job in self.store.all_jobs():
            if job.status.is_active and job.backend:
                mine[(job.source, job.backend)] += 1
        self.query_one(QueuePane).show(
            backends,
            history,
            dict(mine),
            self.query_one(JobDetail).job,
            len(self.store.pollers) > 1,
        )

    # --- selection -----------------------------------------------------------------------

    @on(JobList.Highlighted)
    def job_highlighted(self, event: JobList.Highlighted) -> None:
        if self.grouped:
            return  # the grouped view's cursor is the one on show
        self.store.watch(event.key)
        for detail in self.query(JobDetail):  # none while the screen is torn down
            detail.show(event.key)
            self._show_queue()
        job_list = event.control
        if len(job_list.rows) and job_list.cursor_row >= len(job_list.rows) - 1:
            self.store.load_more()  # at the end of the list: older history comes sooner

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in MUTATING and self.readonly)

    def get_system_commands(self, screen: Screen) -> list[SystemCommand]:  # type: ignore[override]
        """Textual's own (themes, screenshot, quit), every action of our keys, and a few more
        that have no key of their own: sort by a column, all jobs again, copy the bits."""
        commands = list(super().get_system_commands(screen))
        if not self._dashboard_up:
            return commands
        job_list = self.query_one(JobList)
        mine = [(b, self) for b in self._bindings_with_ids(self)]
        mine += [(b, job_list) for b in self._bindings_with_ids(job_list)]
        owners = {id(binding): owner for binding, owner in mine}

        def run(binding: Binding) -> None:
            self.call_later(self.run_action, binding.action, owners[id(binding)])

        def allowed(binding: Binding) -> bool:
            return bool(self.check_action(binding.action.split("(")[0], ()))

        commands += binding_commands(
            [binding for binding, _ in mine], run, allowed, self.get_key_display
        )
        for column in job_list.columns:
            commands.append(
                SystemCommand(
                    f"Sort by {COLUMN_SPECS[column].title}",
                    f"sort the list by {COLUMN_SPECS[column].title} (again: reversed)",
                    lambda column=column: self._sort_by(column),  # type: ignore[misc]
                )
            )
        commands.append(
            SystemCommand("Show all jobs", "no status filter", lambda: self._status_filter_off())
        )
        commands.append(
            SystemCommand(
                "Copy random bits",
                "copy the bits of the Random bits tab as hex (OSC 52)",
                self.action_copy_bits,
            )
        )
        return commands

    def _bindings_with_ids(self, node: DOMNode) -> list[Binding]:
        """The node's bindings as the keymap left them: remapped keys, one per id."""
        seen: dict[str, Binding] = {}
        for _, binding in node._bindings:
            if binding.id and binding.id not in seen:
                seen[binding.id] = binding
        return list(seen.values())

    def _sort_by(self, column: Column) -> None:
        job_list = self.query_one(JobList)
        if job_list.rows.sort_column == column:
            job_list.toggle_reverse()
        else:
            job_list.set_sort(column)

    def _status_filter_off(self) -> None:
        self.query_one(JobList).set_status_filter(None)
        self._show_filter()

    def _cursor_job(self) -> JobKey | None:
        """The job under the cursor: of the grouped view when it is shown, else of the list."""
        if self.grouped:
            return self.query_one(SessionTree).cursor_job
        return self.query_one(JobList).cursor_key

    def _targets(self) -> tuple[list[Job], int]:
        """The marked jobs the list shows (in its order), or else the one under the cursor;
        and how many marked jobs the filters hide (those are never acted on). In the grouped
        view: the job under its cursor."""
        if self.grouped:
            key = self._cursor_job()
            job = self.store.job(key) if key else None
            return ([job] if job is not None else []), 0
        job_list = self.query_one(JobList)
        rows = job_list.rows
        visible = rows.visible_marked
        hidden = rows.mark_count - len(visible)
        keys = visible or ([job_list.cursor_key] if job_list.cursor_key else [])
        return [job for key in keys if (job := self.store.job(key)) is not None], hidden

    def action_cancel(self) -> None:
        tree = self.query_one(SessionTree)
        data = tree.cursor_data if self.grouped else None
        if data is not None and data[0] == "session" and data[1] is not None:
            self._confirm_session("cancel", data[1])
            return
        targets, hidden = self._targets()
        jobs = [job for job in targets if job.status.is_active]
        if not jobs:
            which = "the marked jobs are" if len(targets) > 1 else "the job is"
            self.notify(f"Nothing to cancel: {which} finished.", severity="warning")
            return
        notes = []
        if len(jobs) < len(targets):
            notes.append(f"{len(targets) - len(jobs)} marked finished jobs are left as they are.")
        if hidden:
            notes.append(f"{hidden} marked jobs hidden by the filter are left alone.")

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.run_cancel([job.key for job in jobs])

        from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel

        self.push_screen(ConfirmCancel(jobs, note=" ".join(notes)), confirmed)

    @work(group="actions", exit_on_error=False)
    async def run_cancel(self, keys: list[JobKey]) -> None:
        results = await self.store.cancel(keys)
        self.post_message(ActionsDone("cancel", results))

    def action_tags(self) -> None:
        key = self._cursor_job()
        job = self.store.job(key) if key else None
        if job is None:
            return

        def edited(tags: list[str] | None) -> None:
            if tags is not None and key is not None:
                self.run_tags(key, tags)

        from qjob_tui.ui.dialogs.tag_editor import TagEditor

        self.push_screen(TagEditor(job.id, job.tags), edited)

    @work(group="actions", exit_on_error=False)
    async def run_tags(self, key: JobKey, tags: list[str]) -> None:
        self.post_message(ActionsDone("tags", [await self.store.set_tags(key, tags)]))

    def action_rename(self) -> None:
        key = self._cursor_job()
        job = self.store.job(key) if key else None
        if job is None or key is None:
            return
        if not self.store.source_info(key[0]).can_rename:
            self.notify("IBM Quantum jobs cannot be renamed.", severity="warning")
            return

        def named(name: str | None) -> None:
            if name is not None:
                self.run_rename(key, name)

        from qjob_tui.ui.dialogs.text_prompt import TextPrompt

        self.push_screen(TextPrompt(f"Name of {job.id}", job.name or "", max_length=120), named)

    @work(group="actions", exit_on_error=False)
    async def run_rename(self, key: JobKey, name: str) -> None:
        self.post_message(ActionsDone("rename", [await self.store.rename(key, name)]))

    def action_extract(self) -> None:
        key = self._cursor_job()
        if key is not None:
            self.run_extract(key)

    @work(group="actions", exit_on_error=False)
    async def run_extract(self, key: JobKey) -> None:
        self.post_message(ActionsDone("extract", [await self.store.extract(key)]))

    def _shown_bits(self) -> ExtractorResult | None:
        bits = self.query_one(JobDetail).bits
        if bits is None:
            self.notify("Open the Random bits tab of a finished extractor job first.")
        return bits

    def action_copy_bits(self) -> None:
        bits = self._shown_bits()
        if bits is not None:
            self.copy_to_clipboard(bits.hex)
            self.notify(f"Copied {bits.num_bits:,} bits as {len(bits.hex):,} hex digits.")

    def action_copy(self) -> None:
        """Copy the bits shown on the Random bits tab, else the id of the job under the cursor.

        OSC 52: the terminal (local, or at the other end of SSH) puts it in its clipboard.
        """
        detail = self.query_one(JobDetail)
        bits = detail.bits
        if detail.active == "bits" and bits is not None:
            self.copy_to_clipboard(bits.hex)
            self.notify(f"Copied {bits.num_bits:,} bits as {len(bits.hex):,} hex digits.")
            return
        job = self.query_one(JobList).cursor_job
        if job is None:
            return
        self.copy_to_clipboard(job.id)
        self.notify(f"Copied the job id {one_line(job.id, 80)}.", timeout=3)

    def action_open_page(self) -> None:
        key = self.query_one(JobList).cursor_key
        if key is None:
            return
        url = self.store.job_page_url(key)
        status = self.query_one(StatusLine)
        if url is None:
            status.show_note(f"{key[1]} has no web page: only IBM Quantum jobs do.", 8)
            return
        self.copy_to_clipboard(url)
        if can_open_browser():
            self.open_url(url)
            status.show_note(f"Opened {url} (and copied it)", 10)
        else:
            status.show_note(f"Open in a browser (copied): {url}")

    def action_save_bits(self) -> None:
        bits = self._shown_bits()
        key = self.query_one(JobDetail).key
        if bits is None or key is None:
            return

        def chosen(path: str | None) -> None:
            if path:
                self.write_bits(saving_path(path), bits)

        default = str(locations.downloads_dir() / f"random-bits-{key[1]}.bin")
        prompt = "Save the bits to (.bin packed LSB first, .txt as 0/1, .hex)"
        from qjob_tui.ui.dialogs.text_prompt import TextPrompt

        self.push_screen(TextPrompt(prompt, default), chosen)

    @work(thread=True, group="export", exit_on_error=False)
    def write_bits(self, path: Path, bits: ExtractorResult) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            suffix = path.suffix.lower()
            if suffix == ".txt":
                path.write_text("".join(str(int(b)) for b in bits.bits) + "\n")
            elif suffix == ".hex":
                path.write_text(bits.hex + "\n")
            else:
                path.write_bytes(bits.to_bytes())
        except OSError as exc:
            self.call_from_thread(self.notify, f"Saving failed: {exc}", severity="error")
            return
        self.call_from_thread(self.notify, f"Saved {bits.num_bits:,} bits to {path}")

    # --- sessions ------------------------------------------------------------------------

    @property
    def grouped(self) -> bool:
        """True while the jobs are shown grouped by session or batch."""
        return self.screen.has_class("grouped") if self._dashboard_up else False

    def action_group(self) -> None:
        grouped = not self.grouped
        self.screen.set_class(grouped, "grouped")
        tree = self.query_one(SessionTree)
        if grouped:
            self._show_groups()
            key = self.query_one(JobList).cursor_key
            job = self.store.job(key) if key else None
            if job is not None and job.session_id:
                tree.select_key("job", job.key)
            tree.focus()
            self._show_session()
        else:
            self.screen.set_class(False, "session-shown")
            job_list = self.query_one(JobList)
            key = tree.cursor_job
            if key is not None and job_list.rows.index_of(key) is not None:
                job_list.move_cursor(job_list.rows.index_of(key) or 0)
            job_list.focus()
            self.query_one(JobDetail).show(job_list.cursor_key)

    def _focus_list(self) -> None:
        """Focus the list on show: the grouped view or the plain list."""
        if self.grouped:
            self.query_one(SessionTree).focus()
        else:
            self.query_one(JobList).focus()

    def _show_groups(self) -> None:
        rows = self.query_one(JobList).rows
        grouping = group_jobs(iter(rows), self.store.sessions)
        self.query_one(SessionTree).show_grouping(grouping, len(self.store.pollers) > 1)

    @on(SessionTree.Highlighted)
    def group_row_highlighted(self, event: SessionTree.Highlighted) -> None:
        if event.kind == "job" and event.key is not None:
            self.store.watch(event.key)
            self.query_one(JobDetail).show(event.key)
            self._show_queue()
        self._show_session()

    def _show_session(self) -> None:
        """The session's detail in place of the job's, while the cursor is on a group row."""
        tree = self.query_one(SessionTree)
        data = tree.cursor_data if self.grouped else None
        on_session = data is not None and data[0] == "session" and data[1] is not None
        self.screen.set_class(on_session, "session-shown")
        if not on_session or data is None or data[1] is None:
            return
        key = data[1]
        now = self.clock() if self.clock else datetime.now(UTC)
        self.query_one(SessionDetail).show(
            key,
            self.store.session(key),
            self.store.session_jobs(key),
            now,
            self.store.session_intent(key),
        )

    def _selected_session(self) -> SessionKey | None:
        """The session under the grouped view's cursor, or the selected job's session."""
        if self.grouped:
            return self.query_one(SessionTree).cursor_session
        key = self.query_one(JobList).cursor_key
        job = self.store.job(key) if key else None
        return (job.source, job.session_id) if job is not None and job.session_id else None

    def action_close_session(self) -> None:
        key = self._selected_session()
        if key is None:
            self.notify("Not a session: the selected job runs on its own.", severity="warning")
            return
        self._confirm_session("close", key)

    def _confirm_session(self, verb: SessionVerb, key: SessionKey) -> None:
        session = self.store.session(key)
        if session is None:
            self.notify(f"Session {key[1]} has not been read yet.", severity="warning")
            return
        if session.closed:
            self.notify(f"Session {session.id} is already closed.", severity="warning")
            return
        if verb == "close" and not session.accepting_jobs:
            self.notify(f"Session {session.id} already accepts no new jobs.", severity="warning")
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.run_session_action(verb, key)

        from qjob_tui.ui.dialogs.confirm_session import ConfirmSession

        self.push_screen(ConfirmSession(verb, session, self.store.session_jobs(key)), confirmed)

    @work(group="actions", exit_on_error=False)
    async def run_session_action(self, verb: SessionVerb, key: SessionKey) -> None:
        if verb == "close":
            result = await self.store.close_session(key)
        else:
            result = await self.store.cancel_session(key)
        self.post_message(ActionsDone(f"{verb} session", [result]))

    def action_only_mine(self) -> None:
        job_list = self.query_one(JobList)
        if job_list.rows.owner_filter is not None:
            job_list.set_owner_filter(None)
        else:
            owners = frozenset(
                (source, user)
                for source in self.store.pollers
                if (user := self.store.own_user(source)) is not None
            )
            if not owners:
                self.notify(
                    "The servers do not say who submitted the jobs: no filter by user.",
                    severity="warning",
                )
                return
            job_list.set_owner_filter(owners)
        self._show_filter()
        if self.grouped:
            self._show_groups()

    def on_actions_done(self, message: ActionsDone) -> None:
        failed = [r for r in message.results if not r.ok]
        done = [r for r in message.results if r.ok]
        if done and message.verb == "cancel":
            self.query_one(JobList).rows.clear_marks()
            self.query_one(JobList).refresh()
        for result in failed:
            self.notify(result.message, severity="error", timeout=8)
        if done:
            summary = (
                done[0].message if len(done) == 1 else f"{message.verb}: {len(done)} jobs done"
            )
            self.notify(summary)

    def action_refresh(self) -> None:
        self.store.refresh_now()
        self.notify("Refreshing…", timeout=1.5)

    def action_pause(self) -> None:
        if self.store.paused:
            self.store.resume()
        else:
            self.store.pause()
        self._show_status()

    def action_help(self) -> None:
        from qjob_tui.ui.dialogs.help import HelpScreen, help_rows

        rows = help_rows(
            ((key, active.binding) for key, active in self.active_bindings.items()),
            allowed=lambda action: bool(self.check_action(action.split("(")[0], ())),
            key_display=self.get_key_display,
        )
        self.push_screen(HelpScreen(rows))

    def action_columns(self) -> None:
        job_list = self.query_one(JobList)

        def chosen(hidden: frozenset[Column] | None) -> None:
            if hidden is None:
                return
            job_list.hidden_columns = hidden
            shown = [c.value for c in Column if c not in job_list.hidden_columns]
            self.save_columns(shown)

        from qjob_tui.ui.dialogs.column_chooser import ColumnChooser

        self.push_screen(ColumnChooser(job_list.hidden_columns), chosen)

    @work(thread=True, group="config", exit_on_error=False)
    def save_columns(self, shown: list[str]) -> None:
        try:
            path = save_setting("columns", shown, self.config_path)
        except SettingNotSaved as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.call_from_thread(self.notify, f"Columns saved in {path}", timeout=4)

    def action_show_tab(self, tab: str) -> None:
        """Open a tab of the detail pane (again: back to the Overview)."""
        detail = self.query_one(JobDetail)
        if self.screen.has_class("narrow") and self.screen.has_class("swap-side"):
            self.screen.remove_class("swap-side")  # the details, not the backends, are wanted
        detail.active = "overview" if detail.active == tab else tab

    def action_toggle_queue(self) -> None:
        self.screen.toggle_class("swap-side")

    # --- filter --------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        job_list = self.query_one(JobList)
        problem = job_list.set_filter(event.value)
        event.input.set_class(bool(problem), "error")
        event.input.tooltip = problem
        self._show_filter()

    @on(JobList.MarksChanged)
    def marks_changed(self) -> None:
        self._show_filter()

    def _show_filter(self) -> None:
        """The active filters and the marks in the list's border: why rows are missing, and
        what a bulk action will act on."""
        rows = self.query_one(JobList).rows
        parts = []
        if rows.mark_count:
            shown = len(rows.visible_marked)
            hidden = rows.mark_count - shown
            parts.append(f"{shown} marked" + (f" (+{hidden} hidden)" if hidden else ""))
        if rows.filter_text:
            parts.append(f"filter: {rows.filter_text}")
        if rows.status_filter:
            parts.append(f"only {rows.status_filter}")
        if rows.owner_filter is not None:
            parts.append("only my jobs")
        self.query_one(JobList).border_subtitle = " · ".join(parts)
        self.query_one(SessionTree).border_subtitle = " · ".join(parts)
        if self.grouped:
            self._show_groups()

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        """Back to the list; the box goes (the list's border names the filter, / edits it)."""
        self._focus_list()
        event.input.display = False

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        job_list = self.query_one(JobList)
        rows = job_list.rows
        if not (box.value or box.display or rows.filter_text or rows.status_filter):
            job_list.clear_marks()  # nothing to clear but the marks
            return
        box.value = ""
        box.display = False
        job_list.set_filter("")
        job_list.set_status_filter(None)
        self._show_filter()
        self._focus_list()

    def action_status_filter(self, which: str) -> None:
        job_list = self.query_one(JobList)
        current = job_list.rows.status_filter
        job_list.set_status_filter(None if current == which else which)  # type: ignore[arg-type]
        self._show_filter()

    # --- export --------------------------------------------------------------------------

    def action_export(self) -> None:
        name = f"qjob-jobs-{datetime.now():%Y%m%d-%H%M%S}.csv"
        default = str(locations.downloads_dir() / name)

        def chosen(path: str | None) -> None:
            if path:
                rows = self.query_one(JobList).rows
                jobs = [rows.row(i) for i in range(len(rows))]
                self.write_export(saving_path(path), jobs)

        from qjob_tui.ui.dialogs.text_prompt import TextPrompt

        self.push_screen(TextPrompt("Export the visible rows to (.csv or .json)", default), chosen)

    @work(thread=True, group="export", exit_on_error=False)
    def write_export(self, path: Path, jobs: list[Job]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".json":
                path.write_text(json.dumps([job_to_dict(j) for j in jobs], indent=2))
            else:
                path.write_text(jobs_to_csv(jobs))
        except OSError as exc:
            self.call_from_thread(self.notify, f"Export failed: {exc}", severity="error")
            return
        self.call_from_thread(self.notify, f"Exported {len(jobs)} jobs to {path}")
