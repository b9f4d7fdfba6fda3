"""The status line: each source's health, the poll interval, paused or not, counts by status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from rich.text import Text
from textual import events
from textual.timer import Timer

from qjob_tui.model import InstanceUsage, JobStatus
from qjob_tui.store.changes import SourceHealth
from qjob_tui.text import one_line
from qjob_tui.ui.formatting import STATUS_LOOKS
from qjob_tui.ui.status.usage_text import usage_text
from qjob_tui.ui.terminal.cell_diff import CellRefreshStatic

NOTE_SECONDS = 60.0  # how long a note (a URL to open) stays in the status line
COMPACT_BELOW = 100  # columns: narrower, the counts are shown by glyph
_ORDER = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max((now - moment).total_seconds(), 0)
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


def status_text(
    health: Iterable[SourceHealth],
    counts: Counter[JobStatus],
    paused: bool,
    interval: float,
    now: datetime | None = None,
    compact: bool = False,
    usage: Mapping[str, InstanceUsage] | None = None,
    paused_since: datetime | None = None,
) -> Text:
    """``compact`` (a narrow terminal) shows the counts by status glyph: "…3 ▶2 ✔12";
    ``paused_since``, when the screen was frozen (what it shows is as of then)."""
    now = now or datetime.now(UTC)
    text = Text(no_wrap=True, overflow="ellipsis")
    # Short, fixed parts first: a long error at the end is what the ellipsis cuts, not the counts.
    if compact:
        text.append(" ".join(f"{STATUS_LOOKS[s].glyph}{counts.get(s, 0)}" for s in _ORDER))
    else:
        text.append(" ".join(f"{s.value.lower()} {counts.get(s, 0)}" for s in _ORDER))
    text.append(" │ ", style="dim")
    if paused:
        since = f" since {paused_since.astimezone().strftime('%H:%M:%S')}" if paused_since else ""
        text.append(f"paused{since}", style="yellow")
    else:
        text.append(f"every {interval:g} s")
    if usage:
        text.append(" │ ", style="dim")
        text.append_text(usage_text(usage))
    for item in health:
        text.append(" │ ", style="dim")
        text.append(f"{item.source} ", style="bold")
        if item.last_success is None and not item.failures:
            text.append("connecting…", style="yellow")
        elif item.failures:
            # What went wrong first, then since when and what comes next.
            error = (item.last_error or "error").removeprefix(f"{item.source}: ")
            text.append(one_line(error, 80), style="red")
            text.append(f" · stale since {_ago(item.last_success, now)}", style="red")
            if item.next_poll is not None:
                wait = max((item.next_poll - now).total_seconds(), 0)
                text.append(f" · retrying in {wait:.0f} s", style="red")
        else:
            text.append("ok", style="green")
        if item.total is not None and item.loaded < item.total:
            text.append(f" · loaded {item.loaded:,} of {item.total:,}", style="yellow")
        if item.cache_problem:
            text.append(" · cache not saved", style="red")
        if item.upstream is not None:  # through a relay: how its upstream fares
            stale = item.upstream.startswith("stale")
            text.append(" · upstream ", style="dim")
            text.append(one_line(item.upstream, 80), style="red" if stale else "green")
    return text


class StatusLine(CellRefreshStatic):
    """One line at the bottom, above the footer; a change repaints only the cells it changed."""

    _shown = ""
    _last: (
        tuple[
            Iterable[SourceHealth],
            Counter[JobStatus],
            bool,
            float,
            Mapping[str, InstanceUsage] | None,
            datetime | None,
        ]
        | None
    ) = None
    _spans: list[object] = []  # noqa: RUF012 - replaced, never mutated

    def show(
        self,
        health: Iterable[SourceHealth],
        counts: Counter[JobStatus],
        paused: bool,
        interval: float,
        usage: Mapping[str, InstanceUsage] | None = None,
        paused_since: datetime | None = None,
    ) -> None:
        self._last = (health, counts, paused, interval, usage, paused_since)
        compact = 0 < self.size.width < COMPACT_BELOW
        if self._note is not None:
            # The counts stay (by glyph, short) and the note follows them, whole where it fits.
            text = Text(no_wrap=True, overflow="ellipsis")
            shown = [f"{STATUS_LOOKS[s].glyph}{counts[s]}" for s in _ORDER if counts.get(s)]
            text.append(" ".join(shown) + " │ " if shown else "")
            text.append_text(self._note)
        else:
            text = status_text(
                health,
                counts,
                paused,
                interval,
                compact=compact,
                usage=usage,
                paused_since=paused_since,
            )
        if text.plain == self._shown and text.spans == self._spans:
            return  # idle: write nothing to the terminal
        self._shown, self._spans = text.plain, list(text.spans)
        # One fixed line: no layout pass (which would repaint the list's scrollbar too).
        self.update(text, layout=False)

    _note: Text | None = None
    _note_timer: Timer | None = None

    def show_note(self, note: str, seconds: float = NOTE_SECONDS) -> None:
        """Say something after the counts for a while (a URL to open, say), in place of the
        health: unlike a notification, it covers nothing and can be selected to copy."""
        self._note = Text(one_line(note, 400), style="bold", no_wrap=True, overflow="ellipsis")
        if self._note_timer is not None:
            self._note_timer.stop()
        self._note_timer = self.set_timer(seconds, self.clear_note)
        self._redraw()

    def clear_note(self) -> None:
        self._note = None
        self._redraw()

    @property
    def note(self) -> str:
        return self._note.plain if self._note is not None else ""

    def _redraw(self) -> None:
        if self._last is not None:
            self.show(*self._last)
        elif self._note is not None:
            self.update(self._note, layout=False)

    def on_resize(self, event: events.Resize) -> None:
        if self._last is not None:
            self.show(*self._last)
