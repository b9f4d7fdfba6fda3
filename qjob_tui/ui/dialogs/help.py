"""Help: every key of the dashboard, from the registry of actions, as the keymap set them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from qjob_tui.ui.actions import AREA_TITLES, Action, Area, bindings
from qjob_tui.ui.palette import shown_keys

# Headings in this order: the keys that work everywhere first, the full view's last.
_AREAS: tuple[Area, ...] = ("dashboard", "job_list", "session_tree", "text_view")
_AREA_ORDER = list(dict.fromkeys(AREA_TITLES[area] for area in _AREAS))


def help_rows(
    actions: Iterable[Action],
    keys_of: Callable[[Action], str],
    key_display: Callable[[Binding], str],
) -> list[tuple[str, str]]:
    """One row per action of the registry, under a heading per area: its keys as the user
    mapped them, and what it does. Two actions on the same keys in the same area (``escape``)
    each get their row; an area's heading is a row with no keys."""
    rows: list[tuple[str, str]] = []
    heading = ""
    for action in sorted(actions, key=lambda a: _AREA_ORDER.index(AREA_TITLES[a.area])):
        title = AREA_TITLES[action.area]
        if title != heading:
            rows.append(("", title))
            heading = title
        rows.append(
            (shown_keys(action, keys_of(action), key_display), action.help or action.description)
        )
    return rows


def keys_table(rows: list[tuple[str, str]]) -> Table:
    """Keys right-aligned in one column, what they do in the next: a long line wraps under its
    own column, never back to the left edge."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for keys, description in rows:
        if keys:
            table.add_row(Text(keys), Text(description))
        else:
            table.add_row("", Text(description, style="bold underline"))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = bindings("help")

    def __init__(self, rows: list[tuple[str, str]], close_keys: str = "esc") -> None:
        """``close_keys``: the keys that close it, as bound, named in its title: the list can
        be taller than the screen, and the first line is the one read."""
        super().__init__()
        self.rows = rows
        self.close_keys = close_keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Label(f"Keys · {self.close_keys} to close", id="title", markup=False)
            yield Static(keys_table(self.rows), id="keys")
            yield Label(f"{self.close_keys} to close", id="hint", markup=False)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
