"""The Log tab: the job's log as the service keeps it, followed while the job runs.

A ``TextView`` (Line API, searchable, wrapped) that keeps the last ``MAX_LINES``; when the log
grew by new lines only, just those are added, so following a running job does not jump.
"""

from __future__ import annotations

from qjob_tui.text import clean
from qjob_tui.ui.detail.text_view import TextView

MAX_LINES = 5_000


class LogView(TextView):
    """The log of the shown job; ``show_log`` is called with the whole log each time."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(follow=True, **kwargs)  # type: ignore[arg-type]

    def show_log(self, text: str) -> None:
        """Show the log (its last ``MAX_LINES``): only the new lines if it grew."""
        text = clean(text)
        lines = text.splitlines(keepends=True)
        if len(lines) > MAX_LINES:
            text = "".join(lines[-MAX_LINES:])
        if text != self.text:
            self.show_text(text)
