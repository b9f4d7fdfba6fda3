"""The job list grouped by session or batch: a group row per session, its jobs under it.

A Textual ``Tree``: sessions are few next to jobs, so a tree of them is cheap; a poll that
changes only labels (a job's status, a session's TTL) relabels rows in place and keeps the
cursor, and only a change of which rows there are rebuilds the tree. Every label is built by
``session_rows`` from cleaned strings, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar, Literal

from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from qjob_tui.store.changes import JobKey, SessionKey
from qjob_tui.ui.actions import bindings
from qjob_tui.ui.sessions.session_rows import Grouping, group_text, job_text, loose_text

NodeKind = Literal["session", "job", "loose"]
NodeData = tuple[NodeKind, tuple[str, str] | None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SessionTree(Tree[NodeData]):
    """Sessions and batches with their jobs; ``space`` folds a group, ``enter`` opens."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("session_tree")

    class Highlighted(Message):
        """The cursor is on a session (``kind`` "session"), a job, or nothing to act on."""

        def __init__(self, kind: NodeKind | None, key: tuple[str, str] | None) -> None:
            super().__init__()
            self.kind = kind
            self.key = key

    class JobSelected(Message):
        """``enter`` on a job's row: open it full screen."""

        def __init__(self, key: JobKey) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        job_intent: Callable[[JobKey], str | None] | None = None,
        session_intent: Callable[[SessionKey], str | None] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__("sessions", **kwargs)  # type: ignore[arg-type]
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self._clock = clock or _utc_now
        self._job_intent = job_intent or (lambda key: None)
        self._session_intent = session_intent or (lambda key: None)
        self._shape: object = None
        self._collapsed: set[SessionKey] = set()
        self._rows: dict[NodeData, TreeNode[NodeData]] = {}
        self.grouping = Grouping((), 0)

    # --- the cursor ----------------------------------------------------------------------

    @property
    def cursor_data(self) -> NodeData | None:
        node = self.cursor_node
        return node.data if node is not None else None

    @property
    def cursor_session(self) -> SessionKey | None:
        """The session of the row under the cursor: the group row's, or the job's group."""
        node = self.cursor_node
        if node is None or node.data is None:
            return None
        kind, key = node.data
        if kind == "session":
            return key
        if kind == "job" and node.parent is not None and node.parent.data is not None:
            return node.parent.data[1]
        return None

    @property
    def cursor_job(self) -> JobKey | None:
        data = self.cursor_data
        return data[1] if data is not None and data[0] == "job" else None

    def select_key(self, kind: NodeKind, key: tuple[str, str]) -> bool:
        """Put the cursor on a session's or job's row; False if it is not shown."""
        node = self._rows.get((kind, key))
        if node is None:
            return False
        if node.parent is not None and not node.parent.is_root:
            node.parent.expand()
        _ = self.last_line  # lay the lines out, so the node knows its line
        self.move_cursor(node)
        return True

    # --- contents ------------------------------------------------------------------------

    def show_grouping(self, grouping: Grouping, show_source: bool = False) -> None:
        """Show these groups: relabel in place if the rows are the same, else rebuild."""
        self.grouping = grouping
        now = self._clock()
        if grouping.shape == self._shape and (("loose", None) in self._rows) == bool(
            grouping.loose
        ):
            for group in grouping.groups:
                intent = self._session_intent(group.key)
                self._rows[("session", group.key)].set_label(
                    group_text(group, now, intent, show_source)
                )
                for job in group.jobs:
                    self._rows[("job", job.key)].set_label(
                        job_text(job, now, self._job_intent(job.key))
                    )
            if grouping.loose:
                self._rows[("loose", None)].set_label(loose_text(grouping.loose))
            return
        self._rebuild(grouping, now, show_source)

    def _rebuild(self, grouping: Grouping, now: datetime, show_source: bool) -> None:
        here = self.cursor_data
        for data, node in self._rows.items():
            if data[0] == "session" and data[1] is not None and not node.is_expanded:
                self._collapsed.add(data[1])
            elif data[0] == "session" and data[1] is not None:
                self._collapsed.discard(data[1])
        self.clear()
        self._rows = {}
        for group in grouping.groups:
            label = group_text(group, now, self._session_intent(group.key), show_source)
            data: NodeData = ("session", group.key)
            node = self.root.add(label, data, expand=group.key not in self._collapsed)
            self._rows[data] = node
            for job in group.jobs:
                job_data: NodeData = ("job", job.key)
                self._rows[job_data] = node.add_leaf(
                    job_text(job, now, self._job_intent(job.key)), job_data
                )
        if grouping.loose:
            self._rows[("loose", None)] = self.root.add_leaf(
                loose_text(grouping.loose), ("loose", None)
            )
        self._shape = grouping.shape
        if here is not None and here in self._rows and here[1] is not None:
            self.select_key(here[0], here[1])
        elif self._rows:
            _ = self.last_line
            self.move_cursor(next(iter(self._rows.values())))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        event.stop()
        data = event.node.data
        self.post_message(self.Highlighted(*(data if data else (None, None))))

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        """``enter``: a job's row opens the job; a group row folds or unfolds."""
        event.stop()
        data = event.node.data
        if data is not None and data[0] == "job" and data[1] is not None:
            self.post_message(self.JobSelected(data[1]))
        elif data is not None and data[0] == "session":
            event.node.toggle()
