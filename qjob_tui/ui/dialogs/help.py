"""Help: every key of the dashboard, from the live bindings (so remapped keys show as set)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close")
    ]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        text = Text()
        width = max((len(keys) for keys, _ in self.rows), default=4)
        for keys, description in self.rows:
            text.append(f"{keys:>{width}}", style="bold")
            text.append(f"  {description}\n")
        text.rstrip()
        with VerticalScroll(id="dialog"):
            yield Label("Keys", id="title")
            yield Static(text, id="keys")
            yield Label("escape to close", id="hint")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
