"""The status line: each source's health, the poll interval, paused or not, counts by status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import Static

from qjob_tui.model import InstanceUsage, JobStatus
from qjob_tui.store.changes import SourceHealth
from qjob_tui.text import one_line
from qjob_tui.ui.usage_text import usage_text

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
    usage: Mapping[str, InstanceUsage] | None = None,
) -> Text:
    now = now or datetime.now(UTC)
    text = Text(no_wrap=True, overflow="ellipsis")
    for item in health:
        text.append(f"{item.source} ", style="bold")
        if item.last_success is None and not item.failures:
            text.append("connecting… ", style="yellow")
        elif item.failures:
            retry = ""
            if item.next_poll is not None:
                retry = f", retrying in {max((item.next_poll - now).total_seconds(), 0):.0f} s"
            text.append(f"stale since {_ago(item.last_success, now)}{retry}: ", style="red")
            text.append(one_line(item.last_error or "error", 80) + " ", style="red")
        else:
            text.append("ok ", style="green")
        if item.total is not None and item.loaded < item.total:
            text.append(f"loaded {item.loaded:,} of {item.total:,} ", style="yellow")
        if item.cache_problem:
            text.append("cache not saved ", style="red")
        if item.upstream is not None:  # through a relay: how its upstream fares
            stale = item.upstream.startswith("stale")
            text.append("upstream ", style="dim")
            text.append(one_line(item.upstream, 80) + " ", style="red" if stale else "green")
        text.append("│ ", style="dim")
    if usage:
        text.append_text(usage_text(usage))
        text.append(" │ ", style="dim")
    text.append("paused " if paused else f"every {interval:g} s ", style="yellow" if paused else "")
    text.append("│ ", style="dim")
    text.append(" ".join(f"{s.value.lower()} {counts.get(s, 0)}" for s in _ORDER))
    return text


class StatusLine(Static):
    """One line at the bottom, above the footer."""

    _shown = ""
    _spans: list[object] = []  # noqa: RUF012 - replaced, never mutated

    def show(
        self,
        health: Iterable[SourceHealth],
        counts: Counter[JobStatus],
        paused: bool,
        interval: float,
        usage: Mapping[str, InstanceUsage] | None = None,
    ) -> None:
        text = status_text(health, counts, paused, interval, usage=usage)
        if text.plain == self._shown and text.spans == self._spans:
            return  # idle: write nothing to the terminal
        self._shown, self._spans = text.plain, list(text.spans)
        # One fixed line: no layout pass (which would repaint the list's scrollbar too).
        self.update(text, layout=False)
