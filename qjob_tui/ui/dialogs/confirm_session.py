"""Confirm before closing or cancelling a session: says what happens to its jobs; "No" is the
default button, as for cancelling jobs."""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from qjob_tui.model import Job, JobStatus, Session, SessionMode
from qjob_tui.text import one_line
from qjob_tui.ui.actions import bindings
from qjob_tui.ui.sessions.session_rows import session_mode_word

SessionVerb = Literal["close", "cancel"]


class ConfirmSession(ModalScreen[bool]):
    """Asks whether to close or cancel a session; dismisses with True only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("confirm_session")

    def __init__(self, verb: SessionVerb, session: Session, jobs: list[Job]) -> None:
        super().__init__()
        self.verb = verb
        self.session = session
        self.jobs = jobs

    def compose(self) -> ComposeResult:
        session = self.session
        word = session_mode_word(session.mode).lower()
        queued = sum(1 for job in self.jobs if job.status is JobStatus.QUEUED)
        running = sum(1 for job in self.jobs if job.status is JobStatus.RUNNING)
        body = Text()
        body.append(f"{session.id}", style="bold")
        kind = "dedicated session" if session.mode is SessionMode.DEDICATED else "batch"
        body.append(f"  {kind} on {one_line(session.backend or '-', 40)}, {session.state.value}\n")
        if self.verb == "close":
            title = f"Close this {word}?"
            body.append("It accepts no new jobs; the jobs it has still run")
            body.append(f" ({queued} queued, {running} running)." if self.jobs else ".")
            yes = "Yes, close"
        else:
            title = f"Cancel this {word}?"
            body.append(f"Its {queued} queued job" + ("" if queued == 1 else "s"))
            body.append(" will not run; a running job finishes. It accepts no new jobs.")
            yes = "Yes, cancel"
        with Vertical(id="dialog"):
            yield Label(title, id="title")
            yield Static(body, id="session-summary")
            with Horizontal(id="buttons"):
                yield Button("No, keep", id="no", variant="primary")
                yield Button(yes, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
