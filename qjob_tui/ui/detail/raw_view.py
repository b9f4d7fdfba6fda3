"""The Raw tab: the job and its metrics as the server sent them, as pretty JSON.

The store masks secrets before the text gets here; it is cleaned of control characters and
drawn as plain text with JSON colours, never as markup.
"""

from __future__ import annotations

from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual.widgets import Static

from qjob_tui.text import clean

_HIGHLIGHT = JSONHighlighter()


class RawView(Static):
    """Shows one job's raw JSON."""

    json_text = ""

    def show_json(self, text: str) -> None:
        self.json_text = clean(text)
        self.update(_HIGHLIGHT(Text(self.json_text)))

    def show_message(self, message: str) -> None:
        self.json_text = ""
        self.update(Text(message, style="dim"))
