"""The dashboard's actions on the selected (or marked) jobs and sessions: cancel, tags, rename,
extract, close or cancel a session, copy, open a job's page.

A mixin of ``DashboardScreen``: each action asks in a dialog where it must, then runs in a
worker that reports with ``ActionsDone``; the store does the work and checks read-only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from qjob_tui.model import Job, JobStatus, cancel_outcome
from qjob_tui.store.changes import JobKey, SessionKey
from qjob_tui.text import one_line
from qjob_tui.ui.cancel_notice import cancel_notice
from qjob_tui.ui.messages import ActionsDone

if TYPE_CHECKING:
    from qjob_tui.results import ExtractorResult
    from qjob_tui.store import JobStore
    from qjob_tui.ui.detail.pane import JobDetail
    from qjob_tui.ui.dialogs.confirm_session import SessionVerb
    from qjob_tui.ui.jobs.job_list import JobList
    from qjob_tui.ui.sessions.session_tree import SessionTree
    from qjob_tui.ui.status.status_line import StatusLine

# The dialogs are imported where they open: the first paint needs none of them.


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


def jobs_phrase(count: int, what: str = "job") -> str:
    """ "1 marked job", "3 marked jobs": the count with its noun in the right number."""
    return f"{count} {what}" + ("" if count == 1 else "s")


class JobActions(Screen[None]):
    """Actions on jobs and sessions, for the dashboard screen."""

    store: JobStore

    if TYPE_CHECKING:

        @property
        def job_list(self) -> JobList: ...
        @property
        def session_tree(self) -> SessionTree: ...
        @property
        def detail(self) -> JobDetail: ...
        @property
        def status_line(self) -> StatusLine: ...
        @property
        def grouped(self) -> bool: ...
        def job_key(self) -> JobKey | None: ...

    def _targets(self) -> tuple[list[Job], int]:
        """The marked jobs the list shows (in its order), or else the one under the cursor;
        and how many marked jobs the filters hide (those are never acted on). In the grouped
        view: the job under its cursor."""
        if self.grouped:
            key = self.job_key()
            job = self.store.job(key) if key else None
            return ([job] if job is not None else []), 0
        job_list = self.job_list
        rows = job_list.rows
        visible = rows.visible_marked
        hidden = rows.mark_count - len(visible)
        keys = visible or ([job_list.cursor_key] if job_list.cursor_key else [])
        return [job for key in keys if (job := self.store.job(key)) is not None], hidden

    def action_cancel(self) -> None:
        data = self.session_tree.cursor_data if self.grouped else None
        if data is not None and data[0] == "session" and data[1] is not None:
            self._confirm_session("cancel", data[1])
            return
        targets, hidden = self._targets()
        if not targets:
            return
        jobs = [job for job in targets if job.status.is_active]
        if not jobs:
            if len(targets) > 1:
                said = "Nothing to cancel: the marked jobs have all ended."
                self.notify(said, severity="warning")
            else:
                self._say_ended(targets[0])
            return
        notes = []
        finished = len(targets) - len(jobs)
        if finished:
            rest = "is left as it is" if finished == 1 else "are left as they are"
            notes.append(f"{jobs_phrase(finished, 'marked finished job')} {rest}.")
        if hidden:
            verb = "is" if hidden == 1 else "are"
            notes.append(
                f"{jobs_phrase(hidden, 'marked job')} hidden by the filter {verb} left alone."
            )

        def confirmed(answer: bool | None) -> None:
            if not answer:
                return
            # As they are now: a job may have ended, or gone, while the dialog was open.
            now = {job.key: self.store.job(job.key) for job in jobs}
            gone = [key for key, job in now.items() if job is None]
            if gone:
                ids = ", ".join(one_line(key[1], 40) for key in gone)
                verb = "is" if len(gone) == 1 else "are"
                said = f"Not cancelled: {ids} {verb} gone from the server."
                self.notify(said, severity="warning")
            known = [job for job in now.values() if job is not None]
            active = [job.key for job in known if job.status.is_active]
            if active:
                self.run_cancel(active)
            elif len(known) == 1:
                self._say_ended(known[0])
            elif known:
                states = ", ".join(sorted({job.status.value for job in known}))
                self.notify(
                    f"Nothing was cancelled: the {len(known)} jobs had already ended ({states}).",
                    severity="warning",
                )

        from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel

        self.app.push_screen(ConfirmCancel(jobs, note=" ".join(notes)), confirmed)

    def _say_ended(self, job: Job) -> None:
        """A job that ended before any cancel: the cancel rule's words (``cancel_outcome``)."""
        outcome = cancel_outcome(one_line(job.id, 80), job.status, job.status)
        self.notify(outcome.message, severity="information" if outcome.ok else "warning")

    @work(group="actions", exit_on_error=False)
    async def run_cancel(self, keys: list[JobKey]) -> None:
        results = await self.store.cancel(keys)
        self.post_message(ActionsDone("cancel", results))

    def action_tags(self) -> None:
        key = self.job_key()
        job = self.store.job(key) if key else None
        if job is None or key is None:
            return

        def edited(tags: list[str] | None) -> None:
            if tags is not None:
                self.run_tags(key, tags)

        from qjob_tui.ui.dialogs.tag_editor import TagEditor

        self.app.push_screen(TagEditor(job.id, job.tags), edited)

    @work(group="actions", exit_on_error=False)
    async def run_tags(self, key: JobKey, tags: list[str]) -> None:
        self.post_message(ActionsDone("tags", [await self.store.set_tags(key, tags)]))

    def action_rename(self) -> None:
        key = self.job_key()
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

        self.app.push_screen(TextPrompt(f"Name of {job.id}", job.name or "", max_length=120), named)

    @work(group="actions", exit_on_error=False)
    async def run_rename(self, key: JobKey, name: str) -> None:
        self.post_message(ActionsDone("rename", [await self.store.rename(key, name)]))

    def action_extract(self) -> None:
        key = self.job_key()
        if key is not None:
            self.run_extract(key)

    @work(group="actions", exit_on_error=False)
    async def run_extract(self, key: JobKey) -> None:
        self.post_message(ActionsDone("extract", [await self.store.extract(key)]))

    def on_actions_done(self, message: ActionsDone) -> None:
        """Each job's own line; a cancel of several jobs: one notice (``cancel_notice``)."""
        results = message.results
        if message.verb != "cancel":
            for result in results:
                if result.ok:
                    self.notify(result.message)
                else:
                    self.notify(result.message, severity="error", timeout=8)
            return
        if any(result.ok for result in results):
            self.job_list.clear_marks()
        said, severity = cancel_notice(results, self._status_now)
        self.notify(said, severity=severity, timeout=None if severity == "information" else 10)

    def _status_now(self, key: JobKey) -> JobStatus | None:
        job = self.store.job(key)
        return job.status if job is not None else None

    # --- sessions ------------------------------------------------------------------------

    def _selected_session(self) -> SessionKey | None:
        """The session under the grouped view's cursor, or the selected job's session."""
        if self.grouped:
            return self.session_tree.cursor_session
        key = self.job_list.cursor_key
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

        self.app.push_screen(ConfirmSession(verb, session, self.store.session_jobs(key)), confirmed)

    @work(group="actions", exit_on_error=False)
    async def run_session_action(self, verb: SessionVerb, key: SessionKey) -> None:
        if verb == "close":
            result = await self.store.close_session(key)
        else:
            result = await self.store.cancel_session(key)
        self.post_message(ActionsDone(f"{verb} session", [result]))

    # --- copy and open -------------------------------------------------------------------

    def shown_bits(self) -> ExtractorResult | None:
        """The bits of the Random bits tab, or None (and a word on how to get some)."""
        bits = self.detail.bits
        if bits is None:
            self.notify("Open the Random bits tab of a finished extractor job first.")
        return bits

    def action_copy_bits(self) -> None:
        bits = self.shown_bits()
        if bits is not None:
            self.app.copy_to_clipboard(bits.hex)
            self.notify(f"Copied {bits.num_bits:,} bits as {len(bits.hex):,} hex digits.")

    def action_copy(self) -> None:
        """Copy the bits shown on the Random bits tab, else the id of the job under the cursor.

        OSC 52: the terminal (local, or at the other end of SSH) puts it in its clipboard.
        """
        detail = self.detail
        if detail.active == "bits" and detail.bits is not None:
            self.action_copy_bits()
            return
        key = self.job_key()
        job = self.store.job(key) if key else None
        if job is None:
            return
        self.app.copy_to_clipboard(job.id)
        self.notify(f"Copied the job id {one_line(job.id, 80)}.", timeout=3)

    def action_open_page(self) -> None:
        key = self.job_key()
        if key is None:
            return
        url = self.store.job_page_url(key)
        status = self.status_line
        if url is None:
            status.show_note(f"{key[1]} has no web page: only IBM Quantum jobs do.", 8)
            return
        self.app.copy_to_clipboard(url)
        if can_open_browser():
            self.app.open_url(url)
            status.show_note(f"Opened {url} (and copied it)", 10)
        else:
            status.show_note(f"Open in a browser (copied): {url}")
