"""The dashboard screen: the panes, the store's news to them, and the keys that span panes.

Panes are reached through accessor properties (``job_list``, ``detail``, ...), never through
scattered queries. The job list's own keys (cursor, marks, sort) live on ``JobList``, the grouped
view's on ``SessionTree``, the Log and Raw tabs' search on ``TextView``; what spans panes (the
filter, which tab, the full view of a job, the actions on the selected job) lives here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input

from qjob_tui.model import InstanceUsage, JobStatus
from qjob_tui.store.changes import ChangeSet, JobKey
from qjob_tui.text import one_line
from qjob_tui.ui.actions import (
    ACTIONS,
    BY_ID,
    DASHBOARD_AREAS,
    MUTATING,
    NEEDS,
    Action,
    Area,
    bindings,
)
from qjob_tui.ui.backends.queue_pane import QueuePane
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.detail.session_view import SessionDetail
from qjob_tui.ui.empty_hint import empty_text
from qjob_tui.ui.file_actions import FileActions
from qjob_tui.ui.finished import FinishWatch
from qjob_tui.ui.job_actions import JobActions
from qjob_tui.ui.jobs.job_list import COLUMN_SPECS, JobList
from qjob_tui.ui.jobs.job_rows import Column
from qjob_tui.ui.messages import StoreChanged
from qjob_tui.ui.sessions.session_rows import group_jobs
from qjob_tui.ui.sessions.session_tree import SessionTree
from qjob_tui.ui.status.footer import SteadyFooter
from qjob_tui.ui.status.status_line import StatusLine

if TYPE_CHECKING:
    from qjob_tui.config import Settings
    from qjob_tui.model import Job
    from qjob_tui.store import JobStore

NARROW = 110  # below this width the panes stack and the backends pane hides behind "b"
# Below this width the list takes the whole width (status, id, name, backend, created, duration
# and tags fit from 120 columns) and the detail and backends panes share the lower half.
STACKED = 170
TICK_SECONDS = 1.0  # status line ages, session TTLs


class DashboardHost(Protocol):
    """What the screen asks of its app (``QJobApp``): settings, keys, the end of jobs."""

    readonly: bool
    settings: Settings
    mapped_keys: dict[str, str]

    def jobs_ended(self, ended: list[Job], watched: set[JobKey]) -> None: ...

    def source_switched(self, source: str) -> None: ...

    def save_setting(self, key: str, value: object, what: str) -> object: ...


def hidden_columns(names: tuple[str, ...]) -> tuple[frozenset[Column], list[str]]:
    """The columns ``columns = [...]`` in config.toml hides, and a line per unknown name."""
    known = {column.value for column in Column}
    problems = [
        f"config.toml: unknown column {one_line(name, 40)!r} in columns; "
        f"known: {', '.join(sorted(known))}"
        for name in names
        if name not in known
    ]
    return frozenset(c for c in Column if c.value not in names), problems


class DashboardScreen(JobActions, FileActions, Screen[None]):
    """The job list (or the grouped view), the detail and backends panes, the status line."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("dashboard")

    def __init__(self, store: JobStore, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self._counts_dirty = True
        self._counts: Counter[JobStatus] = Counter()
        self.finish_watch = FinishWatch()
        # Set once the panes the first frame does not show are mounted too: until then the
        # app holds the user's input (keys typed ahead act on the whole dashboard).
        self.whole = asyncio.Event()
        self._described = ""  # the list's filters and marks, for the grouped view's border

    # --- panes ---------------------------------------------------------------------------

    @property
    def qjob_app(self) -> DashboardHost:
        return self.app  # type: ignore[return-value]

    @property
    def job_list(self) -> JobList:
        return self.query_one("#jobs", JobList)

    @property
    def session_tree(self) -> SessionTree:
        return self.query_one("#sessions", SessionTree)

    @property
    def detail(self) -> JobDetail:
        return self.query_one("#detail", JobDetail)

    @property
    def session_detail(self) -> SessionDetail:
        return self.query_one("#session-detail", SessionDetail)

    @property
    def queue_pane(self) -> QueuePane:
        return self.query_one("#queue", QueuePane)

    @property
    def status_line(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def grouped(self) -> bool:
        """True while the jobs are shown grouped by session or batch."""
        return self.has_class("grouped")

    @property
    def zoomed(self) -> bool:
        """True while one job is shown full screen (``enter``)."""
        return self.has_class("zoomed")

    @property
    def several_sources(self) -> bool:
        return len(self.store.pollers) > 1

    # --- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The grouped view, a session's detail and the filter box are hidden at first: they
        # mount after the first frame (``_mount_unseen``), in their places.
        with Horizontal(id="body"):
            yield JobList(
                id="jobs",
                show_source=self.several_sources,
                intent_of=self.store.intent,
                offset_of=self.store.clock_offset,
                clock=self.clock,
            )
            with Vertical(id="side"):
                yield JobDetail(self.store, clock=self.clock, id="detail")
                yield QueuePane(id="queue")
        yield StatusLine(id="status")
        yield SteadyFooter()

    async def _mount_unseen(self) -> None:
        """The panes the first frame does not show, after it (their widgets and styles were
        a fifth of its work); then the input that waited for them."""
        try:
            await self._mount_hidden_panes()
        finally:
            self.whole.set()

    async def _mount_hidden_panes(self) -> None:
        tree = SessionTree(
            id="sessions",
            clock=self.clock,
            job_intent=self.store.intent,
            session_intent=self.store.session_intent,
        )
        tree.border_title = "sessions and batches"
        tree.border_subtitle = Text(self._described)
        filter_input = Input(placeholder="filter: text, re:regex, !not (esc clears)", id="filter")
        filter_input.display = False  # until "/"
        await self.query_one("#body").mount(tree, after="#jobs")
        await self.query_one("#side").mount(SessionDetail(id="session-detail"), after="#detail")
        await self.mount(filter_input, after="#body")

    def on_mount(self) -> None:
        job_list = self.job_list
        columns = self.qjob_app.settings.columns
        if columns is not None:
            job_list.hidden_columns, problems = hidden_columns(columns)
            for problem in problems:
                self.notify(problem, severity="warning", timeout=10)
        sources = self.store.sources
        # Plain text: a relay names its sources, and a border title is read as markup. A source
        # named by its URL is said once.
        named = (s.url if s.name in s.url else f"{s.name} {s.url}" for s in sources)
        job_list.border_title = Text("jobs · " + " · ".join(named))
        self.queue_pane.border_title = "backends"
        self.show_empty_text()
        job_list.focus()
        self.fit_layout(self.app.size.width)
        self.set_interval(TICK_SECONDS, self._tick)
        self.show_status()
        self.show_queue()
        self.call_after_refresh(self._mount_unseen)

    def on_resize(self, event: events.Resize) -> None:
        self.fit_layout(event.size.width)

    def fit_layout(self, width: int) -> None:
        """The layout's classes for a terminal this wide (set before the panes mount too)."""
        self.set_class(width < NARROW, "narrow")
        self.set_class(NARROW <= width < STACKED, "medium")

    def _tick(self) -> None:
        self.show_status()
        if self.grouped:  # TTLs and ages move with the clock: relabel, the rows stay
            tree = self.session_tree
            tree.show_grouping(tree.grouping, self.several_sources)
            self._show_session()

    def _now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(UTC)

    # --- store news ----------------------------------------------------------------------

    def on_store_changed(self, message: StoreChanged) -> None:
        if not self.query("#jobs"):
            return  # news that arrives while the app closes
        changes = message.changes
        for source in changes.switched:  # (in order with the news: before the new server's)
            self.qjob_app.source_switched(source)
        job_list = self.job_list
        if changes.added or changes.changed or changes.removed or changes.intents:
            job_list.apply_changes(changes)
            self._counts_dirty = True
        detail = self.detail
        shown = detail.key
        if shown is not None and (
            any(j.key == shown for j in changes.changed)
            or shown in changes.intents
            or shown in changes.removed
        ):
            detail.refresh_views()
        if changes.changed:
            self._follow_in_dialog(changes)
        ended = self.finish_watch.ended(changes)
        if ended:
            watched = set(job_list.rows.marked) | self.store.submitted
            if shown is not None:
                watched.add(shown)
            self.qjob_app.jobs_ended(ended, watched)
        for notice in changes.notices:
            self.notify(notice, severity="warning", timeout=10)
        if changes.backends or changes.changed or changes.added or changes.switched:
            self.show_queue()  # (a switch: the old server's backends are gone)
        if changes.health or changes.added or changes.changed or changes.removed or changes.usage:
            self.show_status()
        if changes.health:
            self.show_empty_text()
        if self.grouped and (
            changes.sessions
            or changes.added
            or changes.changed
            or changes.removed
            or changes.switched
        ):
            self._show_groups()
            self._show_session()

    def _follow_in_dialog(self, changes: ChangeSet) -> None:
        """An open cancel dialog shows its jobs as they are now, not as they were."""
        from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel

        for screen in self.app.screen_stack:
            if isinstance(screen, ConfirmCancel):
                screen.follow(changes.changed)

    def show_empty_text(self) -> None:
        """Why the list is empty, and how to get jobs from the sources shown."""
        health = {h.source: h for h in self.store.health}
        readonly = self.qjob_app.readonly
        self.job_list.show_empty_text(empty_text(self.store.sources, health, readonly=readonly))

    def show_status(self) -> None:
        if self._counts_dirty:
            self._counts = Counter(job.status for job in self.store.all_jobs())
            self._counts_dirty = False
        self.status_line.show(
            self.store.health,
            self._counts,
            self.store.paused,
            self.store.config.interval,
            usage=self._shown_usage(),
            paused_since=self.store.paused_since,
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

    def show_queue(self) -> None:
        backends = self.store.backends
        history = {(b.source, b.name): self.store.queue_history(b.source, b.name) for b in backends}
        mine: Counter[tuple[str, str]] = Counter()
        for job in self.store.all_jobs():
            if job.status.is_active and job.backend:
                mine[(job.source, job.backend)] += 1
        self.queue_pane.show(backends, history, dict(mine), self.detail.job, self.several_sources)

    # --- selection -----------------------------------------------------------------------

    @on(JobList.Highlighted)
    def job_highlighted(self, event: JobList.Highlighted) -> None:
        if self.grouped or self.zoomed:
            return  # the grouped view's cursor is the one on show; a full view keeps its job
        self.store.watch(event.key)
        self.detail.show(event.key)
        self.show_queue()
        job_list = event.control
        if len(job_list.rows) and job_list.cursor_row >= len(job_list.rows) - 1:
            self.store.load_more()  # at the end of the list: older history comes sooner

    @on(JobList.InView)
    def jobs_in_view(self, event: JobList.InView) -> None:
        self.store.in_view(event.keys)

    @on(JobList.Selected)
    def job_selected(self, event: JobList.Selected) -> None:
        self.open_job()

    @on(SessionTree.JobSelected)
    def tree_job_selected(self, event: SessionTree.JobSelected) -> None:
        self.open_job()

    @on(JobList.Described)
    def list_described(self, event: JobList.Described) -> None:
        """The list's filters and marks, in the grouped view's border too."""
        self._described = event.text
        if not self.whole.is_set():
            return  # the grouped view takes it when it mounts
        self.session_tree.border_subtitle = Text(event.text)
        if self.grouped:
            self._show_groups()

    # --- the full view of one job ----------------------------------------------------------

    def open_job(self) -> None:
        """The selected job full screen, every tab with room; ``escape`` comes back."""
        if self.detail.key is None or self.has_class("session-shown"):
            return
        self.remove_class("swap-side")
        self.add_class("zoomed")
        job = self.detail.job
        if job is not None:
            self.detail.border_title = Text(f"{one_line(job.id, 80)} · esc: back to the list")
        self.detail.focus_tab()
        self.refresh_bindings()

    def action_close_job(self) -> None:
        self.remove_class("zoomed")
        self.detail.border_title = ""
        self._focus_list()
        self.refresh_bindings()

    def _leave_full_view(self) -> None:
        """Keys that act on the list (filter, group) bring it back first."""
        if self.zoomed:
            self.action_close_job()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING and self.qjob_app.readonly:
            return False
        if action == "close_job":
            return self.zoomed
        return True

    # --- tabs ----------------------------------------------------------------------------

    def action_select_tab(self, tab: str) -> None:
        """Show a tab of the detail pane (``1``..``7``)."""
        if self.has_class("narrow") and self.has_class("swap-side"):
            self.remove_class("swap-side")  # the details, not the backends, are wanted
        self.detail.active = tab
        if self.zoomed:
            self.call_after_refresh(self.detail.focus_tab)

    def action_show_tab(self, tab: str) -> None:
        """Open a tab of the detail pane; again: back to the Overview (``l``, ``v``)."""
        self.action_select_tab("overview" if self.detail.active == tab else tab)

    def action_toggle_queue(self) -> None:
        self.toggle_class("swap-side")

    # --- the grouped view ------------------------------------------------------------------

    def action_group(self) -> None:
        self._leave_full_view()
        grouped = not self.grouped
        self.set_class(grouped, "grouped")
        tree = self.session_tree
        if grouped:
            self._show_groups()
            key = self.job_list.cursor_key
            job = self.store.job(key) if key else None
            if job is not None and job.session_id:
                tree.select_key("job", job.key)
            tree.focus()
            self._show_session()
        else:
            self.set_class(False, "session-shown")
            job_list = self.job_list
            key = tree.cursor_job
            index = job_list.rows.index_of(key) if key is not None else None
            if index is not None:
                job_list.move_cursor(index)
            job_list.focus()
            self.detail.show(job_list.cursor_key)

    def _focus_list(self) -> None:
        """Focus the list on show: the grouped view or the plain list."""
        if self.grouped:
            self.session_tree.focus()
        else:
            self.job_list.focus()

    def _show_groups(self) -> None:
        grouping = group_jobs(iter(self.job_list.rows), self.store.sessions)
        self.session_tree.show_grouping(grouping, self.several_sources)

    @on(SessionTree.Highlighted)
    def group_row_highlighted(self, event: SessionTree.Highlighted) -> None:
        if event.kind == "job" and event.key is not None:
            self.store.watch(event.key)
            self.detail.show(event.key)
            self.show_queue()
        self._show_session()

    def _show_session(self) -> None:
        """The session's detail in place of the job's, while the cursor is on a group row."""
        data = self.session_tree.cursor_data if self.grouped else None
        key = data[1] if data is not None and data[0] == "session" else None
        self.set_class(key is not None, "session-shown")
        if key is None:
            return
        self.session_detail.show(
            key,
            self.store.session(key),
            self.store.session_jobs(key),
            self._now(),
            self.store.session_intent(key),
        )

    # --- filters -------------------------------------------------------------------------

    def action_filter(self) -> None:
        self._leave_full_view()
        box = self.filter_box
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        problem = self.job_list.set_filter(event.value)
        event.input.set_class(bool(problem), "error")
        event.input.tooltip = problem
        event.input.border_title = Text(problem) if problem else None

    @on(Input.Submitted, "#filter")
    def filter_done(self, event: Input.Submitted) -> None:
        """Back to the list; the box goes (the list's border names the filter, / edits it).

        A filter that is no valid regex stays open with its error, so it is never lost.
        """
        if event.input.has_class("error"):
            return
        self._focus_list()
        event.input.display = False

    def action_clear_filter(self) -> None:
        """Clear the text filter (the only-active, only-failed and only-mine views stay);
        with none, unmark all."""
        box = self.filter_box
        job_list = self.job_list
        if not (box.value or box.display or job_list.rows.filter_text):
            job_list.clear_marks()  # nothing to clear but the marks
            return
        box.value = ""
        box.display = False
        job_list.set_filter("")
        self._focus_list()

    def action_status_filter(self, which: str) -> None:
        job_list = self.job_list
        current = job_list.rows.status_filter
        job_list.set_status_filter(None if current == which else which)  # type: ignore[arg-type]

    def action_only_mine(self) -> None:
        job_list = self.job_list
        if job_list.rows.owner_filter is not None:
            job_list.set_owner_filter(None)
            return
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

    # --- the rest ------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.store.refresh_now()
        self.notify("Refreshing…", timeout=1.5)

    def action_pause(self) -> None:
        if self.store.paused:
            self.store.resume()
        else:
            self.store.pause()
        self.show_status()

    def allowed(self, action: Action) -> bool:
        return not (action.mutating and self.qjob_app.readonly)

    def action_help(self) -> None:
        from qjob_tui.ui.dialogs.help import HelpScreen, help_rows
        from qjob_tui.ui.palette import shown_keys

        mapped = self.qjob_app.mapped_keys
        rows = help_rows(
            (a for a in ACTIONS if a.area in DASHBOARD_AREAS and self.allowed(a)),
            keys_of=lambda action: mapped.get(action.id, action.keys),
            key_display=self.app.get_key_display,
        )
        close = BY_ID["help.close"]
        keys = shown_keys(close, mapped.get(close.id, close.keys), self.app.get_key_display)
        self.app.push_screen(HelpScreen(rows, close_keys=" / ".join(keys.split())))

    def action_columns(self) -> None:
        job_list = self.job_list

        def chosen(hidden: frozenset[Column] | None) -> None:
            if hidden is None:
                return
            job_list.hidden_columns = hidden
            shown = [c.value for c in Column if c not in job_list.hidden_columns]
            self.qjob_app.save_setting("columns", shown, "Columns")

        from qjob_tui.ui.dialogs.column_chooser import ColumnChooser

        self.app.push_screen(ColumnChooser(job_list.hidden_columns), chosen)

    # --- the palette ---------------------------------------------------------------------

    def commands(self) -> list[SystemCommand]:
        """A command per action of the registry that has a palette title, and a few more
        that have no key of their own: sort by a column, all jobs again, copy the bits."""
        from qjob_tui.ui.palette import action_commands

        mapped = self.qjob_app.mapped_keys
        commands = action_commands(
            (a for a in ACTIONS if a.area in DASHBOARD_AREAS and self.allowed(a)),
            run=self._run_from_palette,
            keys_of=lambda action: mapped.get(action.id, action.keys),
            key_display=self.app.get_key_display,
        )
        job_list = self.job_list
        for column in job_list.columns:
            title = COLUMN_SPECS[column].title
            commands.append(
                SystemCommand(
                    f"Sort by {title}",
                    f"sort the list by {title} (again: reversed)",
                    lambda column=column: job_list.sort_by(column),  # type: ignore[misc]
                )
            )
        commands.append(
            SystemCommand(
                "Show all jobs",
                "no status filter",
                lambda: job_list.set_status_filter(None),
            )
        )
        commands.append(
            SystemCommand(
                "Copy random bits",
                "copy the bits of the Random bits tab as hex (OSC 52)",
                self.action_copy_bits,
            )
        )
        return commands

    def _run_from_palette(self, action: Action) -> None:
        owners = {"dashboard": self, "app": self.app, "job_list": self.job_list}
        owner = owners.get(action.area, self.session_tree)
        self.call_later(self.app.run_action, action.action, owner)

    def job_key(self) -> JobKey | None:
        """The job under the cursor: of the grouped view when it is shown, else of the list."""
        if self.grouped:
            return self.session_tree.cursor_job
        return self.job_list.cursor_key

    # --- the rule for actions on a job ---------------------------------------------------

    def lacks_target(self, action: str, owner: object) -> bool:
        """True, with a notice that says so, when ``action`` (as its owner binds it) needs a
        job under the cursor (``Action.needs``) and there is none: every key and palette
        command passes here (``QJobApp.run_action``), so no action does nothing unseen."""
        owners: dict[Area, object] = {"dashboard": self, "job_list": self.job_list}
        area = next((area for area, known in owners.items() if known is owner), None)
        needs = NEEDS.get((area, action)) if area is not None else None
        if needs is None or self.job_key() is not None:
            return False
        if needs == "job or session" and self.grouped and self.session_tree.cursor_session:
            return False
        if not owner.check_action(action.split("(")[0], ()):  # type: ignore[attr-defined]
            return False  # not offered at all (--readonly): nothing to say
        self.notify(self._no_job_reason(), severity="warning", timeout=4)
        return True

    def _no_job_reason(self) -> str:
        if self.grouped and len(self.job_list.rows):
            return "No job selected: the cursor is on a group's row, not a job."
        return f"No job selected: {self.empty_list_reason()}."

    def empty_list_reason(self) -> str:
        """Why the list shows no job: a filter, or none there."""
        return "no job matches the filter" if self.job_list.rows.filtered else "the list is empty"
