"""Choose the job list's columns (``o``): ticked ones show when they fit, the id always."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList, Static

from qjob_tui.ui.actions import bindings
from qjob_tui.ui.jobs.job_list import COLUMN_SPECS
from qjob_tui.ui.jobs.job_rows import Column

_ABOUT: dict[Column, str] = {
    Column.STATUS: "status",
    Column.SOURCE: "source (with several sources)",
    Column.ID: "id (always shown)",
    Column.NAME: "name",
    Column.BACKEND: "backend",
    Column.PROGRAM: "program",
    Column.CREATED: "created",
    Column.DURATION: "duration",
    Column.QUEUE: "queue position",
    Column.TAGS: "tags",
}


class ColumnChooser(ModalScreen[frozenset[Column] | None]):
    """Dismisses with the columns to hide, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("column_chooser")

    def __init__(self, hidden: frozenset[Column]) -> None:
        super().__init__()
        self.hidden = hidden

    def compose(self) -> ComposeResult:
        choices = SelectionList[str](
            *(
                (_ABOUT[column], column.value, column not in self.hidden)
                for column in Column
                if column in COLUMN_SPECS
            ),
            id="columns",
        )
        with Vertical(id="dialog"):
            yield Label("Columns of the job list", id="title")
            yield choices
            yield Static(
                "Ticked ones show where they fit. space ticks · enter saves · escape cancels",
                id="hint",
            )

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_save(self) -> None:
        shown = set(self.query_one(SelectionList).selected)
        hidden = frozenset(c for c in Column if c.value not in shown and c is not Column.ID)
        self.dismiss(hidden)

    def action_cancel(self) -> None:
        self.dismiss(None)
