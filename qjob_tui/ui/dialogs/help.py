"""Help: every key of the dashboard, from the live bindings (so remapped keys show as set)."""

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


def help_rows(
    bindings: Iterable[tuple[str, Binding]],
    allowed: Callable[[str], bool],
    key_display: Callable[[Binding], str],
) -> list[tuple[str, str]]:
    """One row per action: every key bound to it (as the user mapped them) and what it does.

    ``bindings`` are (key, binding) pairs as in ``App.active_bindings``: a binding with two
    keys comes twice. Actions without a description, system bindings and actions ``allowed``
    refuses (``--readonly``) are left out. The tooltip, where a binding has one, says more
    than the footer's short description. The dashboard's own actions (bindings with an id,
    the ones users can remap) come first, Textual's generic keys (scrolling, focus) last.
    """
    keys: dict[tuple[str, str], list[str]] = {}
    texts: dict[tuple[str, str], str] = {}
    ours: dict[tuple[str, str], bool] = {}
    for _, binding in bindings:
        if not binding.description or binding.system or not allowed(binding.action):
            continue
        name = (binding.action, binding.description)
        shown = key_display(binding)
        if shown not in keys.setdefault(name, []):
            keys[name].append(shown)
        texts[name] = binding.tooltip or binding.description
        ours[name] = ours.get(name, False) or binding.id is not None
    order = sorted(keys, key=lambda name: not ours[name])  # stable: each group keeps its order
    return [(" ".join(keys[name]), texts[name]) for name in order]


def keys_table(rows: list[tuple[str, str]]) -> Table:
    """Keys right-aligned in one column, what they do in the next: a long line wraps under its
    own column, never back to the left edge."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for keys, description in rows:
        table.add_row(Text(keys), Text(description))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close")
    ]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Label("Keys", id="title")
            yield Static(keys_table(self.rows), id="keys")
            yield Label("escape to close", id="hint")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
