"""Confirm before cancelling: names the jobs, and "No" is the default button."""

from __future__ import annotations

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
        count = len(self.jobs)
        title = "Cancel this job?" if count == 1 else f"Cancel these {count} jobs?"
        listing = Text()
        for job in self.jobs[:MAX_LISTED]:
            listing.append(f"{job.id}", style="bold")
            listing.append(f"  {job.status.value.lower()} on {job.backend or '-'}")
            if job.name:
                listing.append(f"  {one_line(job.name, 30)}")
            listing.append("\n")
        if count > MAX_LISTED:
            listing.append(f"… and {count - MAX_LISTED} more\n", style="dim")
        listing.rstrip()
        with Vertical(id="dialog"):
            yield Label(title, id="title")
            yield Static(listing, id="cancel-list")
            if self.note:
                yield Static(Text(self.note, style="italic"), id="cancel-note")
            with Horizontal(id="buttons"):
                yield Button("No, keep", id="no", variant="primary")
                yield Button("Yes, cancel", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
