"""The dashboard app: its lifecycle, theme, keymap and terminal watchdog; nothing more.

The panes and the keys live on ``DashboardScreen`` (ui/dashboard.py) and on the widgets they
concern, every key from the one registry in ui/actions.py. The app renders the store's state and
sends user actions to the store; it never calls the job services itself. Store news arrives as
``StoreChanged`` messages, posted to the dashboard screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.binding import BindingType, Keymap
from textual.command import CommandPalette
from textual.dom import DOMNode
from textual.notifications import Notify, SeverityLevel
from textual.screen import Screen
from textual.timer import Timer

from qjob_tui import locations
from qjob_tui.config import SettingNotSaved, Settings, save_setting
from qjob_tui.model import Job, JobStatus
from qjob_tui.saving import REMOTE_REASON, remote_viewer
from qjob_tui.store import JobStore
from qjob_tui.store.changes import ChangeSet, JobKey
from qjob_tui.ui.actions import MUTATING, bindings, remappable_ids
from qjob_tui.ui.dashboard import DashboardScreen
from qjob_tui.ui.keys import check_keymap
from qjob_tui.ui.messages import StoreChanged
from qjob_tui.ui.terminal.hangup import current_watchdog
from qjob_tui.ui.terminal.partial_update import CroppedUpdates

if TYPE_CHECKING:
    from qjob_tui.ui.terminal.final_hook import HookOutcome

HOOKS_AT_ONCE = 4  # on_final commands running at the same time; more wait their turn
THEME_REST_SECONDS = 1.0  # a theme is saved once the palette is closed this long
TTY_CHECK_SECONDS = 1.0  # how often the app looks whether its terminal is still there


class QJobApp(CroppedUpdates, App[int]):
    """k9s for quantum jobs."""

    CSS_PATH = "app.tcss"
    TITLE = "qjob-tui"
    BINDINGS: ClassVar[list[BindingType]] = bindings("app")

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
        """``config_path`` is where choices made in the app (columns, theme) are saved."""
        super().__init__()
        self.store = store
        self.clock = clock
        self.start_store = start_store
        self.config_path = config_path
        self.settings = settings or Settings()
        self.readonly = readonly or self.settings.readonly
        self.mapped_keys: dict[str, str] = {}
        self._dashboard: DashboardScreen | None = None  # binding id -> keys, as the keymap set them
        self._notices = list(notices or [])
        self._unsubscribe = store.subscribe(self._post_changes)
        self._hooked: set[JobKey] = set()  # jobs the on_final hook ran (or runs) for
        self._hook_slots = asyncio.Semaphore(HOOKS_AT_ONCE)
        self.hook_runs: list[HookOutcome] = []
        self._use_theme(self.settings.theme)
        self._theme_saved = self.theme
        self._theme_timer: Timer | None = None

    # --- the screen ----------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        screen = self._dashboard = DashboardScreen(self.store, clock=self.clock)
        # The layout's classes before the widgets mount: set later, each restyles every widget.
        screen.fit_layout(self.size.width)
        if self.start_store:
            # The cached jobs the prefetch has ready, queued for the screen before Textual asks
            # it for its first frame, so that the frame shows them (``JobStore.open_now``).
            self.store.open_now()
        return screen

    @property
    def dashboard(self) -> DashboardScreen | None:
        """The dashboard screen while it is up (None while the app starts or closes)."""
        if not self.is_running or not self.screen_stack:
            return None
        screen = self.screen_stack[0]
        if not isinstance(screen, DashboardScreen) or not screen.is_mounted:
            return None
        return screen if screen.query("#jobs") else None

    def _post_changes(self, changes: ChangeSet) -> None:
        """The store's news, to the dashboard (which handles it once it is mounted)."""
        if self._dashboard is not None:
            self._dashboard.post_message(StoreChanged(changes))

    # --- lifecycle -----------------------------------------------------------------------

    async def on_mount(self) -> None:
        if self.settings.keymap:
            keymap, problems = check_keymap(self.settings.keymap, remappable_ids())
            self._notices.extend(problems)
            self.set_keymap(keymap)
        for notice in self._notices:
            self.notify(notice, severity="warning", timeout=10)
        self._watch_terminal()
        self.set_interval(TTY_CHECK_SECONDS, self._check_terminal)
        if self.start_store:
            # The newest screenful of the cache now; the older jobs and the polls after the
            # first frame is on the terminal (``start`` publishes them as they come).
            await self.store.open()
            self.call_after_refresh(self._start_store)

    async def on_event(self, event: events.Event) -> None:
        """Input that arrives before the dashboard is whole (keys typed while it starts; its
        hidden panes mount just after the first frame) waits for it, in order."""
        dashboard = self._dashboard
        if isinstance(event, events.InputEvent) and dashboard is not None:
            await dashboard.whole.wait()
        await super().on_event(event)

    def _start_store(self) -> None:
        self.run_worker(self.store.start(), name="store-start", group="store")

    async def on_unmount(self) -> None:
        self._unsubscribe()
        await self.store.stop()

    def set_keymap(self, keymap: Keymap) -> None:
        self.mapped_keys = dict(keymap)
        super().set_keymap(keymap)

    def update_keymap(self, keymap: Keymap) -> None:
        self.mapped_keys.update(keymap)
        super().update_keymap(keymap)

    # --- theme ---------------------------------------------------------------------------

    def _use_theme(self, theme: str | None) -> None:
        """The config's theme; one Textual does not know is a notice, and the default stays
        (``--theme`` is checked before the app starts: a bad one there is a usage error)."""
        if not theme:
            return
        if theme in self.available_themes:
            self.theme = theme
            return
        known = ", ".join(sorted(self.available_themes))
        where = self.config_path or locations.config_file()
        self._notices.append(
            f"{where}: unknown theme {theme!r}; using the default. The themes are: {known}"
        )

    def watch_theme(self, theme: str) -> None:
        """A theme chosen in the palette is kept in config.toml for the next start: once the
        choice rests (the palette previews each theme the cursor passes)."""
        if self.is_running:
            if self._theme_timer is not None:
                self._theme_timer.stop()
            self._theme_timer = self.set_timer(THEME_REST_SECONDS, self._keep_theme)

    def _keep_theme(self) -> None:
        self._theme_timer = None
        if self.theme != self._theme_saved and not isinstance(self.screen, CommandPalette):
            self._theme_saved = self.theme
            self.save_setting("theme", self.theme, "Theme")
        elif self.theme != self._theme_saved:  # still choosing
            self._theme_timer = self.set_timer(THEME_REST_SECONDS, self._keep_theme)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text, whoever asks for it: what one quotes (a server's
        error, a job id, a source's name) is never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def on_notify(self, event: Notify) -> None:
        """A notice said again while it is still shown replaces it, its time started again: a
        key pressed five times that cannot act shows its notice once, not five stacked. Runs
        before Textual's own handler shows the new one; other notices stay as they are."""
        new = event.notification
        for shown in list(self._notifications):
            if (shown.message, shown.title, shown.severity) == (
                new.message,
                new.title,
                new.severity,
            ):
                self._unnotify(shown, refresh=False)  # the toast goes with the new one's refresh

    @work(thread=True, group="config", exit_on_error=False)
    def save_setting(self, key: str, value: object, what: str) -> None:
        """Keep a choice made in the app in config.toml (off the event loop); a remote viewer's
        dashboard keeps it for the session only: it writes no file on its host."""
        if remote_viewer():
            note = f"{what} changed for this session; not saved: {REMOTE_REASON}"
            self.call_from_thread(self.notify, note, timeout=6)
            return
        try:
            path = save_setting(key, value, self.config_path)
        except SettingNotSaved as exc:
            self.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        self.call_from_thread(self.notify, f"{what} saved in {path}", timeout=4)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Textual's screenshot, except in a terminal of a remote viewer: no file on the host."""
        if remote_viewer() and not self.is_web:
            self.notify(f"No screenshot saved: {REMOTE_REASON}", timeout=6)
            return None
        return super().deliver_screenshot(filename, path, time_format)

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

    def _check_terminal(self) -> None:
        # Under the web driver stdin is a pipe from the relay, and no terminal to lose.
        if sys.__stdin__ is not None and not self.is_headless and not self.is_web:
            with contextlib.suppress(ValueError, OSError):
                if not os.isatty(sys.__stdin__.fileno()):
                    self.exit(0)

    # --- jobs that end -------------------------------------------------------------------

    def jobs_ended(self, ended: list[Job], watched: set[JobKey]) -> None:
        """Tell when a watched job goes from active to final, and run the on_final hook.

        Watched: marked, on screen, or submitted from this dashboard. ``notify = "all"`` in
        the config tells of every job, ``"off"`` of none; the hook runs for watched jobs only,
        once per job.
        """
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

    def source_switched(self, source: str) -> None:
        """Another server answers at ``source``: its jobs are others, whatever their ids, and
        the hook has run for none of them."""
        self._hooked = {key for key in self._hooked if key[0] != source}

    @work(group="hooks", exit_on_error=False)
    async def run_hook(self, job: Job) -> None:
        assert self.settings.on_final is not None
        # Here: the hook and its job export (csv) load with the first job that ends watched.
        from qjob_tui.ui.terminal.final_hook import run_final_hook

        async with self._hook_slots:
            outcome = await run_final_hook(
                self.settings.on_final, job, self.settings.on_final_timeout
            )
        self.hook_runs.append(outcome)
        if outcome.problem is not None:
            self.notify(outcome.problem, severity="error", timeout=10)

    # --- actions -------------------------------------------------------------------------

    def action_help_quit(self) -> None:
        """ctrl+c: name the keys that quit, as bound now (a keymap may have moved them), in
        plain words: Textual's own message is markup, and every notification here is plain."""
        quitting = [
            active.binding
            for active in self.active_bindings.values()
            if active.binding.action in ("quit", "app.quit")
        ]
        quitting.sort(key=lambda binding: "+" in binding.key)  # a plain key first
        keys = [self.get_key_display(binding) for binding in quitting]
        if keys:
            self.notify(f"Press {' or '.join(keys)} to quit the app", title="Do you want to quit?")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in MUTATING and self.readonly)

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Every key, click and palette command runs here: an action that needs a job says
        so when none is under the cursor (the dashboard's rule), instead of doing nothing."""
        dashboard = self.dashboard
        if (
            dashboard is not None
            and isinstance(action, str)
            and dashboard.lacks_target(action, default_namespace)
        ):
            return True
        return await super().run_action(action, default_namespace, namespaces)

    def get_system_commands(self, screen: Screen) -> list[SystemCommand]:  # type: ignore[override]
        """Textual's own (themes, screenshot, quit) and the dashboard's, one per action."""
        commands = list(super().get_system_commands(screen))
        dashboard = self.dashboard
        return commands if dashboard is None else commands + dashboard.commands()
