"""The Raw tab: the job and its metrics as the server sent them, as pretty JSON.

The store masks secrets before the text gets here; it is cleaned of control characters and
drawn as plain text with JSON colours, never as markup. Searchable and wrapped (``TextView``).
"""

from __future__ import annotations

from rich.highlighter import JSONHighlighter

from qjob_tui.text import clean
from qjob_tui.ui.detail.text_view import TextView

_HIGHLIGHT = JSONHighlighter()


class RawView(TextView):
    """Shows one job's raw JSON."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(highlight=_HIGHLIGHT.highlight, **kwargs)

    @property
    def json_text(self) -> str:
        return self.text

    def show_json(self, text: str) -> None:
        self.show_text(clean(text))
