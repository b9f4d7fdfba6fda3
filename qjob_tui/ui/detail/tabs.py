"""The detail pane's tabs and their views, one per tab.

Imported when the tabs mount, just after the first frame: Textual's tabs and the seven views
were about 46 M instructions of the dashboard's start, for tabs nobody sees before a job is
selected.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import TabbedContent, TabPane

from qjob_tui.ui.actions import TABS
from qjob_tui.ui.detail.circuit_view import CircuitView
from qjob_tui.ui.detail.log_view import LogView
from qjob_tui.ui.detail.overview import OverviewView
from qjob_tui.ui.detail.random_bits import RandomBitsView
from qjob_tui.ui.detail.raw_view import RawView
from qjob_tui.ui.detail.result_view import ResultView
from qjob_tui.ui.detail.text_view import TextView
from qjob_tui.ui.detail.timeline import TimelineView


class DetailTabs(TabbedContent):
    """Overview, Timeline, Result, Circuit, Random bits, Log and Raw; the pane fills them."""

    def __init__(self) -> None:
        super().__init__(id="tabs")
        views = {
            "overview": VerticalScroll(OverviewView(id="overview-view")),
            "timeline": VerticalScroll(TimelineView(id="timeline-view")),
            "result": VerticalScroll(ResultView(id="result-view")),
            "circuit": VerticalScroll(CircuitView(id="circuit-view")),
            "bits": VerticalScroll(RandomBitsView(id="bits-view")),
            "log": LogView(id="log-view"),
            "raw": RawView(id="raw-view"),
        }
        for number, (tab, title) in enumerate(TABS, start=1):
            # The key that selects the tab, in its title: "1 Overview" .. "7 Raw".
            self.compose_add_child(TabPane(f"{number} {title}", views[tab], id=tab))

    def focus_view(self) -> None:
        """Focus what the active tab shows (its scroll, or the Log and Raw text and search)."""
        pane = self.active_pane
        if pane is not None and pane.children:
            view = pane.children[0]
            if isinstance(view, TextView) or view.focusable:
                view.focus()

    @property
    def overview(self) -> OverviewView:
        return self.query_one(OverviewView)

    @property
    def timeline(self) -> TimelineView:
        return self.query_one(TimelineView)

    @property
    def result(self) -> ResultView:
        return self.query_one(ResultView)

    @property
    def circuit(self) -> CircuitView:
        return self.query_one(CircuitView)

    @property
    def bits(self) -> RandomBitsView:
        return self.query_one(RandomBitsView)

    @property
    def log(self) -> LogView:
        return self.query_one(LogView)

    @property
    def raw(self) -> RawView:
        return self.query_one(RawView)
