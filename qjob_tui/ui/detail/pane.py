"""The detail pane: tabs for the selected job, each filled only when it is looked at.

Overview and Timeline come from the store's state at once; the result and the circuits are
fetched by workers (and the circuits drawn in a thread), so a slow service or a big circuit
never blocks the list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical

from qjob_tui.model import Job, JobStatus, ProgramId
from qjob_tui.store.changes import JobKey
from qjob_tui.store.errors import StoreError
from qjob_tui.ui.formatting import status_phrase

R = TypeVar("R")  # what a result tab shows: sampler counts or estimator values
LOG_FOLLOW_SECONDS = 1.0  # how often the Log tab reads a running job's log again

if TYPE_CHECKING:
    from textual.widgets import TabbedContent

    from qjob_tui.results import ExtractorResult
    from qjob_tui.store import JobStore
    from qjob_tui.ui.detail.tabs import DetailTabs


class JobDetail(Vertical):
    """Overview, Timeline, Result, Circuit, Random bits, Log and Raw of one job, in tabs."""

    def __init__(
        self, store: JobStore, clock: Callable[[], datetime] | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.store = store
        self.clock = clock
        self.key: JobKey | None = None
        self._result_for: JobKey | None = None
        self._circuit_for: JobKey | None = None
        self._bits_for: JobKey | None = None
        self._log_for: JobKey | None = None  # the job whose final log is shown (no more polls)
        self._raw_for: tuple[JobKey, Job] | None = None  # the job version the raw JSON is of
        self.bits: ExtractorResult | None = None
        self._tabs_ready = False
        self._wanted_tab: str | None = None  # a tab asked for before the tabs were mounted

    def compose(self) -> ComposeResult:
        # Nothing yet: the tabs (35 widgets, a third of the dashboard's) mount after the first
        # frame (``on_mount``), so that the job list reaches the terminal without waiting.
        yield from ()

    @property
    def tabs(self) -> DetailTabs:
        """The tabs, once mounted (``_tabs_ready``)."""
        from qjob_tui.ui.detail.tabs import DetailTabs

        return self.query_one(DetailTabs)

    def focus_tab(self) -> None:
        """Focus what the active tab shows (its scroll, or the Log and Raw text and search)."""
        if self._tabs_ready:
            self.tabs.focus_view()

    async def _mount_tabs(self) -> None:
        """The tabs, after the first frame; then what was asked of them meanwhile."""
        from qjob_tui.ui.detail.tabs import DetailTabs

        await self.mount(DetailTabs())
        self._tabs_ready = True
        if self._wanted_tab is not None:
            self.active, self._wanted_tab = self._wanted_tab, None
        if self.key is not None:
            self._show_loading()
            self.refresh_views()

    @property
    def active(self) -> str:
        """The id of the tab on show."""
        if not self._tabs_ready:
            return self._wanted_tab or "overview"
        return self.tabs.active

    @active.setter
    def active(self, tab: str) -> None:
        if not self._tabs_ready:
            self._wanted_tab = tab
            return
        self.tabs.active = tab

    @property
    def job(self) -> Job | None:
        return self.store.job(self.key) if self.key else None

    def show(self, key: JobKey | None) -> None:
        """Switch to another job (or to none)."""
        if key != self.key:
            self.key = key
            self._result_for = None
            self._circuit_for = None
            self._bits_for = None
            self._log_for = None
            self._raw_for = None
            self.bits = None
            if self._tabs_ready:
                self._show_loading()
            if key is not None:
                # Once the screen shows the job: reading it may start the HTTP client, whose
                # import (tens of ms) would otherwise come before the frame with the list.
                self.call_after_refresh(self._fetch_shown_details, key)
        self.refresh_views()

    def _fetch_shown_details(self, key: JobKey) -> None:
        if key == self.key:  # (the cursor has not moved on meanwhile)
            self.fetch_details(key)

    def _show_loading(self) -> None:
        self.tabs.log.show_message("Loading the log…")
        self.tabs.raw.show_message("Loading the job as the server sent it…")

    def refresh_views(self) -> None:
        """Redraw from the store's state; called on every change of the shown job."""
        if not self._tabs_ready:
            return  # ``_mount_tabs`` shows the job once they are there
        job = self.job
        intent = self.store.intent(self.key) if self.key else None
        self.tabs.overview.show(job, intent)
        self._show_timeline(job)
        self._fill_active_tab()

    def _show_timeline(self, job: Job | None) -> None:
        now = self.clock() if self.clock else datetime.now(UTC)
        if job is not None:  # measured on the server's clock, as its timestamps are
            now += self.store.clock_offset(job.source)
        self.tabs.timeline.show(job, now=now)

    def _tick(self) -> None:
        """An active job's timeline: its running step's duration moves every second."""
        job = self.job
        if self._tabs_ready and self.active == "timeline" and job and job.status.is_active:
            self._show_timeline(job)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._fill_active_tab()

    def on_mount(self) -> None:
        self.set_interval(LOG_FOLLOW_SECONDS, self._follow_log)
        self.set_interval(1.0, self._tick)
        self.call_after_refresh(self._mount_tabs)

    def _follow_log(self) -> None:
        """While the Log tab shows an active job, fetch its log again."""
        if self.active == "log" and self.key is not None and self._log_for != self.key:
            self.fetch_log(self.key)

    def _fill_active_tab(self) -> None:
        job, key = self.job, self.key
        if job is None or key is None:
            return
        if self.active == "log" and self._log_for != key:
            self.fetch_log(key)
        if self.active == "raw" and self._raw_for != (key, job):
            self._raw_for = (key, job)
            self.fetch_raw(key)
        if self.active == "bits" and self._bits_for != key:
            self._fill_bits(job, key)
        if self.active == "result" and self._result_for != key:
            view = self.tabs.result
            if job.program == ProgramId.RANDOM_EXTRACTOR:
                view.show_message("An extractor job: its output is in the Random bits tab.")
            elif job.status is JobStatus.DONE:
                self._result_for = key
                view.show_message("Loading the result…")
                if job.program == ProgramId.ESTIMATOR:
                    self.fetch_estimates(key)
                elif job.program == ProgramId.EXECUTOR:
                    self.fetch_executor_result(key)
                else:
                    self.fetch_result(key)
            else:
                view.show_message(f"No result: the job {status_phrase(job.status)}.")
        if self.active == "circuit" and job.program == ProgramId.RANDOM_EXTRACTOR:
            self.tabs.circuit.show_message(
                "An extractor job runs no circuit: it extracts random bits from the raw bits of "
                "another job. Its output is in the Random bits tab (5), its inputs in Raw (7)."
            )
        elif self.active == "circuit" and self._circuit_for != key:
            self._circuit_for = key
            self.tabs.circuit.show_message("Loading the circuits…")
            self.fetch_circuits(key)

    def _fill_bits(self, job: Job, key: JobKey) -> None:
        view = self.tabs.bits
        if job.program != ProgramId.RANDOM_EXTRACTOR:
            hint = " Press x on a finished sampler job to extract bits from it."
            view.show_message("Not a random-extractor job." + hint)
        elif job.status is not JobStatus.DONE:
            view.show_message(f"No bits: the job {status_phrase(job.status)}.")
        else:
            self._bits_for = key
            view.show_message("Loading the bits…")
            self.fetch_bits(key)

    @work(exclusive=True, group="bits", exit_on_error=False)
    async def fetch_bits(self, key: JobKey) -> None:
        view = self.tabs.bits
        try:
            result = await self.store.extracted_bits(key)
        except StoreError as exc:
            self._bits_for = None
            view.show_message(f"Could not read the bits: {exc}")
            return
        if key != self.key:
            return
        self.bits = result
        if result is None:
            view.show_message("The service has no bits for this job.")
        else:
            view.show_result(result)

    @work(exclusive=True, group="log", exit_on_error=False)
    async def fetch_log(self, key: JobKey) -> None:
        view = self.tabs.log
        job = self.job
        final = job is not None and job.status.is_final  # read before: the last log is whole
        try:
            text = await self.store.job_log(key)
        except StoreError as exc:
            view.show_message(f"Could not read the log: {exc}")
            return
        if key != self.key:
            return
        if final:
            self._log_for = key
        if text:
            view.show_log(text)
        else:
            follow = "" if final else " yet; it is read again while the job runs"
            view.show_message(f"The service keeps no log for this job{follow}.")

    @work(exclusive=True, group="raw", exit_on_error=False)
    async def fetch_raw(self, key: JobKey) -> None:
        view = self.tabs.raw
        try:
            text = await self.store.raw_json(key)
        except StoreError as exc:
            self._raw_for = None
            view.show_message(f"Could not read the job: {exc}")
            return
        if key == self.key:
            view.show_json(text)

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def fetch_details(self, key: JobKey) -> None:
        try:
            await self.store.details(key)
        except StoreError:
            return  # the status line reports the source's health
        if key == self.key:
            self.refresh_views()

    @work(exclusive=True, group="result", exit_on_error=False)
    async def fetch_result(self, key: JobKey) -> None:
        view = self.tabs.result
        await self._show_result(key, self.store.result(key), view.show_result)

    @work(exclusive=True, group="result", exit_on_error=False)
    async def fetch_estimates(self, key: JobKey) -> None:
        view = self.tabs.result
        await self._show_result(key, self.store.estimator_result(key), view.show_estimates)

    @work(exclusive=True, group="result", exit_on_error=False)
    async def fetch_executor_result(self, key: JobKey) -> None:
        view = self.tabs.result
        await self._show_result(key, self.store.executor_result(key), view.show_executor)

    async def _show_result(
        self, key: JobKey, reading: Awaitable[R | None], show: Callable[[R], None]
    ) -> None:
        """A sampler's or an estimator's result in the Result tab, or why there is none."""
        view = self.tabs.result
        try:
            result = await reading
        except StoreError as exc:
            self._result_for = None
            view.show_message(f"Could not read the result: {exc}")
            return
        if key != self.key:
            return
        if result is None:
            view.show_message("The service has no result for this job.")
        else:
            show(result)

    @work(exclusive=True, group="circuit", exit_on_error=False)
    async def fetch_circuits(self, key: JobKey) -> None:
        view = self.tabs.circuit
        width = max(self.size.width - 4, 40)
        try:
            diagrams = await self.store.circuit_diagrams(key, width)
        except StoreError as exc:
            if exc.retryable:
                self._circuit_for = None
                view.show_message(f"Could not read the circuits: {exc}")
            else:
                view.show_message(f"The circuits could not be decoded: {exc}")
            return
        if key != self.key:
            return
        if not diagrams:
            view.show_message("The service does not return this job's circuits.")
        else:
            view.show_diagrams(diagrams)
