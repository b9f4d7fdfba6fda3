"""Which jobs just ended: those last seen queued or running that now are final."""

from __future__ import annotations

from qjob_tui.model import Job
from qjob_tui.store.changes import ChangeSet, JobKey


class FinishWatch:
    """Remembers the jobs last seen active; ``ended`` returns those a change set finished."""

    def __init__(self) -> None:
        self._active: set[JobKey] = set()

    def ended(self, changes: ChangeSet) -> list[Job]:
        ended = []
        for job in (*changes.added, *changes.changed):
            if job.status.is_active:
                self._active.add(job.key)
            elif job.key in self._active:
                self._active.discard(job.key)
                ended.append(job)
        for key in changes.removed:
            self._active.discard(key)
        return ended
