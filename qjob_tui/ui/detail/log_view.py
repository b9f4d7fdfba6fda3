"""The Log tab: the job's log as the service keeps it, followed while the job runs.

A Textual ``Log`` (Line API, so a long log costs only the lines on screen) that keeps at most
``MAX_LINES``; when the log grew by new lines only, just those are written, so following a
running job does not redraw or jump.
"""

from __future__ import annotations

from textual.widgets import Log

from qjob_tui.text import clean

MAX_LINES = 5_000


class LogView(Log):
    """The log of the shown job; ``show_log`` is called with the whole log each time."""

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        padding: 0 1;
        background: $surface;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=MAX_LINES, highlight=False, auto_scroll=True, **kwargs)  # type: ignore[arg-type]
        self.text = ""

    def show_log(self, text: str) -> None:
        """Show the log: only the new lines if it grew, else all of it again."""
        text = clean(text)
        if text == self.text:
            return
        if self.text and text.startswith(self.text) and self.text.endswith("\n"):
            self.write(text[len(self.text) :])
        else:
            self.clear()
            self.write(text)
        self.text = text

    def show_message(self, message: str) -> None:
        self.text = ""
        self.clear()
        self.write(message)
