"""The floor of the start-up bench: a minimal Textual app that paints a static 38-row list.

Nothing but Textual and one ``Static`` with 38 rows of job-like text; ``startup_bench.py`` spawns
it in the same pseudo-terminal as the dashboard and times it until its last row shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

ROWS = 38
LAST_ROW = f"old{ROWS - 1:017d}"  # what the bench waits for: the last row's job id


def rows() -> Text:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = []
    for i in range(ROWS):
        created = (start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"DONE       old{i:017d}  basic_simulator  {created}  1.2 s  t{i % 50}")
    return Text("\n".join(lines))


class MinimalList(App[None]):
    BINDINGS: ClassVar[list[tuple[str, str, str]]] = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static(rows())


if __name__ == "__main__":
    MinimalList().run()
