"""``ChangeBus``: the one way the store's parts tell the world what changed.

Every part (pollers, stream listeners, the session watch, the actions) publishes its change
sets here and none calls another's methods to do so. While the dashboard is paused the bus holds
what is published and hands it over, merged into one change set, when it resumes: the screen
stays as it was, and says since when.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from qjob_tui.store.changes import ChangeSet, merge_changes

log = logging.getLogger("qjob_tui.store")

Subscriber = Callable[[ChangeSet], None]


class ChangeBus:
    """Subscribers, and the change sets held while paused."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._held: list[ChangeSet] = []
        self.held_since: datetime | None = None

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Receive every ChangeSet from now on; returns the function that unsubscribes."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, changes: ChangeSet) -> None:
        if changes.empty:
            return
        if self.held_since is not None:
            self._held.append(changes)
            return
        self._deliver(changes)

    def _deliver(self, changes: ChangeSet) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(changes)
            except Exception:
                log.exception("a subscriber failed")

    @property
    def holding(self) -> bool:
        return self.held_since is not None

    def hold(self, announce: Callable[[], ChangeSet]) -> None:
        """Hold every change set from now on; ``announce``'s (the pause itself) goes out."""
        if self.held_since is None:
            self.held_since = datetime.now(UTC)
        self._deliver(announce())

    def release(self, announce: Callable[[], ChangeSet]) -> None:
        """Hand over everything held, as one change set with ``announce``'s."""
        held, self._held = self._held, []
        self.held_since = None
        self._deliver(merge_changes([*held, announce()]))
