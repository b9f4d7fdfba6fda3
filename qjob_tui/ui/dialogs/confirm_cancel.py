"""Confirm before cancelling: names the jobs, and "No" is the default button."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from qjob_tui.model import Job
from qjob_tui.text import one_line
from qjob_tui.ui.actions import bindings

MAX_LISTED = 8


class ConfirmCancel(ModalScreen[bool]):
    """Asks whether to cancel the given jobs; dismisses with True only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("confirm_cancel")

    def __init__(self, jobs: list[Job], note: str = "") -> None:
        """``note`` says which marked jobs are left out (finished, or hidden by a filter)."""
        super().__init__()
        self.jobs = jobs
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self._title(), id="title")
            yield Static(self._listing(), id="cancel-list")
            yield Static(self._ended(), id="cancel-ended")
            if self.note:
                yield Static(Text(self.note, style="italic"), id="cancel-note")
            with Horizontal(id="buttons"):
                yield Button("No, keep", id="no", variant="primary")
                yield Button("Yes, cancel", id="yes", variant="error")

    def _title(self) -> str:
        active = [job for job in self.jobs if job.status.is_active]
        if not active:
            return "Nothing left to cancel"
        count = len(active)
        return "Cancel this job?" if count == 1 else f"Cancel these {count} jobs?"

    def _listing(self) -> Text:
        listing = Text()
        for job in self.jobs[:MAX_LISTED]:
            listing.append(f"{job.id}", style="bold")
            listing.append(f"  {job.status.value.lower()} on {job.backend or '-'}")
            if job.name:
                listing.append(f"  {one_line(job.name, 30)}")
            listing.append("\n")
        if len(self.jobs) > MAX_LISTED:
            listing.append(f"… and {len(self.jobs) - MAX_LISTED} more\n", style="dim")
        listing.rstrip()
        return listing

    def _ended(self) -> Text:
        """The jobs that ended while the dialog was open, each in its final state."""
        ended = [job for job in self.jobs if job.status.is_final]
        lines = [f"{job.id} has ended: {job.status.value}" for job in ended[:MAX_LISTED]]
        if len(ended) > MAX_LISTED:
            lines.append(f"… and {len(ended) - MAX_LISTED} more")
        if lines:
            rest = "it is left as it is" if len(ended) == 1 else "they are left as they are"
            lines.append(f"(while this dialog was open; {rest})")
        return Text("\n".join(lines), style="bold")

    def follow(self, changed: Iterable[Job]) -> None:
        """The store's news about the jobs shown: their states, and what is left to cancel."""
        fresh = {job.key: job for job in changed}
        if not any(job.key in fresh for job in self.jobs):
            return
        self.jobs = [fresh.get(job.key, job) for job in self.jobs]
        self.query_one("#title", Label).update(self._title())
        self.query_one("#cancel-list", Static).update(self._listing())
        ended = self.query_one("#cancel-ended", Static)
        ended.update(self._ended())
        ended.display = any(job.status.is_final for job in self.jobs)
        if all(job.status.is_final for job in self.jobs):
            yes = self.query_one("#yes", Button)
            yes.disabled = True
            self.query_one("#no", Button).focus()

    def on_mount(self) -> None:
        self.query_one("#cancel-ended", Static).display = False
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
