"""A one-line prompt (rename a job, choose an export file)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from qjob_tui.ui.actions import bindings


class TextPrompt(ModalScreen[str | None]):
    """Dismisses with the entered text, or None on escape."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("text_prompt")

    def __init__(
        self, title: str, value: str = "", placeholder: str = "", max_length: int = 0
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="title", markup=False)  # it quotes paths and ids
            yield Input(
                value=self.value,
                placeholder=self.placeholder,
                max_length=self.max_length,
                id="prompt",
            )
            yield Label("enter to accept, escape to cancel", id="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
