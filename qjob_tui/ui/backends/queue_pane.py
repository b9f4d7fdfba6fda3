"""The queue pane: every backend's status and queue, its history, and where your jobs stand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from qjob_tui.model import Backend, BackendState, Job, JobStatus
from qjob_tui.ui.detail.overview import local_time
from qjob_tui.ui.sized_text import SizedText
from qjob_tui.ui.terminal.cell_diff import CellRefreshStatic

SPARK = "▁▂▃▄▅▆▇█"
MAX_NOTES = 3  # distinct backend messages shown under the table
_STATE_STYLE = {
    BackendState.ONLINE: ("● online", "green"),
    BackendState.PAUSED: ("◐ paused", "yellow"),
    BackendState.OFFLINE: ("○ offline", "red"),
}


def sparkline(values: Sequence[int], width: int, peak: int | None = None) -> str:
    """The last ``width`` samples as block characters, scaled to ``peak`` (default: their own
    maximum; the queue pane passes the largest queue of all, so backends compare)."""
    if not values:
        return ""
    values = list(values)[-width:]
    peak = max(values) if peak is None else max(peak, max(values))
    if peak == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v * (len(SPARK) - 1) / peak))] for v in values)


def _estimate(moment: datetime | None) -> str:
    return local_time(moment) if moment else "not provided"


def queue_text(
    backends: Sequence[Backend],
    history: dict[tuple[str, str], list[int]],
    mine: dict[tuple[str, str], int],
    selected: Job | None,
    several_sources: bool,
    width: int = 60,
) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if not backends:
        return Text("No backends reported yet.", style="dim")
    name_width = min(max(len(b.name) for b in backends) + (10 if several_sources else 0), 24)
    spark_width = max(width - name_width - 25, 0)
    peak = max((max(h) for h in history.values() if h), default=0)
    text.append(f"{'backend':<{name_width}} {'status':<10}{'queue':>6} {'mine':>5} ", "bold")
    text.append("history\n" if spark_width >= 4 else "\n", "bold")
    for backend in sorted(backends, key=lambda b: (b.source, b.name)):
        label = f"{backend.source}/{backend.name}" if several_sources else backend.name
        state, style = _STATE_STYLE[backend.state]
        key = (backend.source, backend.name)
        text.append(f"{label[:name_width]:<{name_width}} ")
        text.append(f"{state:<10}", style=style)
        text.append(f"{backend.queue_length:>6} {mine.get(key, 0):>5} ")
        if spark_width >= 4:
            text.append(sparkline(history.get(key, []), spark_width, peak), style="cyan")
        text.append("\n")
    for source, message in _source_notes(backends)[:MAX_NOTES]:
        text.append(f"{source}: " if several_sources else "", "bold")
        text.append(f"{message}\n", "dim")
    if selected is not None and selected.status is JobStatus.QUEUED:
        provider = "the service" if selected.source == "local" or selected.queue.position else "IBM"
        position = selected.queue.position
        text.append(f"\nSelected job on {selected.backend}: ", style="bold")
        text.append(f"position {position}" if position else f"position not provided by {provider}")
        text.append(f"\n  starts   {_estimate(selected.queue.estimated_start)}")
        text.append(f"\n  finishes {_estimate(selected.queue.estimated_completion)}")
        if selected.queue.estimated_start is None and selected.source != "local":
            text.append("\n  IBM Quantum Platform no longer gives per-job estimates.", "dim")
    text.rstrip()
    return text


def _source_notes(backends: Sequence[Backend]) -> list[tuple[str, str]]:
    """What a source says of all its backends at once (the local service's Dask cluster):
    a message every backend of the source shares; one backend's own message is not one."""
    messages: dict[str, set[str]] = {}
    for backend in backends:
        messages.setdefault(backend.source, set()).add(backend.message)
    return [
        (source, next(iter(found)))
        for source, found in messages.items()
        if len(found) == 1 and next(iter(found))
    ]


class QueuePane(CellRefreshStatic, SizedText):
    """Renders ``queue_text``; the app feeds it from the store.

    A poll repaints only the cells that changed: the queue lengths that moved and the sparkline
    columns that grew or shifted, not the pane.
    """

    FIXED_SIZE = True

    def show(
        self,
        backends: Sequence[Backend],
        history: dict[tuple[str, str], list[int]],
        mine: dict[tuple[str, str], int],
        selected: Job | None,
        several_sources: bool,
    ) -> None:
        self.draw(
            lambda width: queue_text(backends, history, mine, selected, several_sources, width)
        )
