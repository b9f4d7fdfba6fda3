"""A one-line prompt (rename a job, choose an export file): a short title, the explanation under
it wrapped to the dialog's width (so a folder it names is never cut off), and, when the answer is
refused, the reason under the box, with the answer kept to be corrected."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from qjob_tui.ui.actions import bindings


class TextPrompt(ModalScreen[str | None]):
    """Dismisses with the entered text, or None on escape.

    ``check`` says why an answer is refused (None: accepted); a refused answer keeps the prompt
    open with that reason shown. ``problem`` is a reason to show from the start (a file that
    could not be written, asked again).
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings("text_prompt")

    def __init__(
        self,
        title: str,
        value: str = "",
        placeholder: str = "",
        max_length: int = 0,
        *,
        explanation: str = "",
        check: Callable[[str], str | None] | None = None,
        problem: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.explanation = explanation
        self.value = value
        self.placeholder = placeholder
        self.max_length = max_length
        self.check = check
        self.problem = problem
        self._refused = value  # the answer ``problem`` is about

    def compose(self) -> ComposeResult:
        # Plain text throughout: titles and explanations quote paths and ids.
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="title", markup=False)
            if self.explanation:
                yield Static(self.explanation, id="explanation", markup=False)
            yield Input(
                value=self.value,
                placeholder=self.placeholder,
                max_length=self.max_length,
                id="prompt",
            )
            problem = Static(self.problem, id="problem", markup=False)
            problem.display = bool(self.problem)
            yield problem
            yield Label("enter to accept, escape to cancel", id="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        problem = self.check(event.value) if self.check is not None else None
        if problem is not None:
            self.show_problem(problem, event.value)
            return
        self.dismiss(event.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.problem and event.value != self._refused:
            self.show_problem("", event.value)  # being corrected: the reason was the old one's

    def show_problem(self, problem: str, refused: str) -> None:
        """Show why ``refused`` (the answer as it was) is not taken; "" hides it."""
        self.problem = problem
        self._refused = refused
        shown = self.query_one("#problem", Static)
        shown.update(problem)
        shown.display = bool(problem)

    def action_cancel(self) -> None:
        self.dismiss(None)
