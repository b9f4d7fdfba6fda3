"""Messages that carry the store's news and the results of actions to the widgets."""

from __future__ import annotations

from textual.message import Message

from qjob_tui.store.changes import ActionResult, ChangeSet


class StoreChanged(Message):
    """The store published a change set (one poll or one action)."""

    def __init__(self, changes: ChangeSet) -> None:
        super().__init__()
        self.changes = changes


class ActionsDone(Message):
    """A user action finished on one or more jobs."""

    def __init__(self, verb: str, results: list[ActionResult]) -> None:
        super().__init__()
        self.verb = verb
        self.results = results
