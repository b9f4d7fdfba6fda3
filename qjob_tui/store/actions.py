"""The user's actions: cancel, tags, rename, extract; close and cancel sessions; and reading a
job by id.

Each is shown at once (an intent such as "cancelling…", or the edit itself) and confirmed or
rolled back by the server. Read-only is enforced here, where the actions happen, not only where
their keys are drawn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from qjob_tui.api.errors import ApiError
from qjob_tui.model import (
    CancelOutcome,
    Job,
    JobStatus,
    ProgramId,
    SessionState,
    cancel_outcome,
    tag_problem,
)
from qjob_tui.store.bus import ChangeBus
from qjob_tui.store.changes import ActionResult, ChangeSet, JobKey, SessionKey
from qjob_tui.store.poller import SourcePoller
from qjob_tui.text import one_line

READ_ONLY = "read-only: this dashboard changes no job"
CLOSING, CANCELLING = "closing…", "cancelling…"


def _cancelled(key: JobKey, outcome: CancelOutcome) -> ActionResult:
    return ActionResult(key, outcome.ok, outcome.message)


class Actions:
    """Actions on the jobs of the sources' states, published on the bus."""

    def __init__(
        self, pollers: Mapping[str, SourcePoller], bus: ChangeBus, *, readonly: bool = False
    ) -> None:
        self.pollers = pollers
        self.bus = bus
        self.readonly = readonly

    def _job(self, key: JobKey) -> Job | None:
        poller = self.pollers.get(key[0])
        return poller.state.jobs.get(key[1]) if poller is not None else None

    async def details(self, key: JobKey) -> Job:
        """The job read by id with its metrics, into its source's state (ApiError passes)."""
        poller = self.pollers[key[0]]
        state = poller.state
        job = await poller.client.job_details(key[1])
        if state is not poller.state:
            return job  # another server answers now: not this one's job
        old = state.put_details(job)  # (a final job is saved with the round's other news)
        if old != job:
            poller.publish(ChangeSet(changed=(job,)) if old else ChangeSet(added=(job,)), state)
        return job

    def _set_intent(self, key: JobKey, intent: str | None) -> None:
        poller = self.pollers[key[0]]
        poller.state.set_intent(key[1], intent)
        poller.publish(ChangeSet(intents=(key,)), poller.state)

    async def cancel(self, keys: Iterable[JobKey]) -> list[ActionResult]:
        """Cancel jobs: shown as "cancelling…" at once, confirmed or rolled back by the server."""
        return list(await asyncio.gather(*(self._cancel_one(key) for key in keys)))

    async def _cancel_one(self, key: JobKey) -> ActionResult:
        job = self._job(key)
        if job is None:
            return ActionResult(key, False, f"{key[1]}: unknown job")
        if self.readonly:
            return ActionResult(key, False, READ_ONLY)
        shown = one_line(key[1], 80)
        if job.status.is_final:
            return _cancelled(key, cancel_outcome(shown, job.status, job.status))
        poller = self.pollers[key[0]]
        if poller.state.intents.get(key[1]) == "cancelling…":
            return ActionResult(key, True, f"{key[1]}: already cancelling")
        self._set_intent(key, "cancelling…")
        try:
            await poller.client.cancel(key[1])
            fresh = await self.details(key)
        except ApiError as exc:
            self._set_intent(key, None)
            now = None
            with contextlib.suppress(ApiError):
                now = await self.details(key)
            if now is not None and now.status.is_final:  # it ended in between
                return _cancelled(key, cancel_outcome(shown, now.status, now.status))
            return ActionResult(key, False, f"cancel {key[1]} refused: {exc.detail}")
        self._set_intent(key, None)
        return _cancelled(key, cancel_outcome(shown, job.status, fresh.status))

    async def extract(self, key: JobKey) -> ActionResult:
        """Submit a random-extractor job over a finished sampler job's measured bits."""
        job = self._job(key)
        if job is None:
            return ActionResult(key, False, f"{key[1]}: unknown job")
        if self.readonly:
            return ActionResult(key, False, READ_ONLY)
        if job.program != ProgramId.SAMPLER or job.status is not JobStatus.DONE:
            return ActionResult(key, False, "random bits come from a finished sampler job")
        poller = self.pollers[key[0]]
        state = poller.state
        try:
            new_id = await poller.client.submit_extractor(
                {"method": "both", "raw_job": job.id},
                tags=("qrng",),
                name=f"bits of {job.id}",
            )
        except ApiError as exc:
            return ActionResult(key, False, f"extraction from {job.id} refused: {exc.detail}")
        state.job_submitted(new_id)  # (on the old server's state if another answers now)
        poller.wake()
        return ActionResult(key, True, f"extracting random bits from {job.id}: job {new_id}")

    async def set_tags(self, key: JobKey, tags: list[str]) -> ActionResult:
        """Replace a job's tags: shown at once, rolled back if the server refuses."""
        unique = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
        problem = tag_problem(unique)
        if problem is not None:
            return ActionResult(key, False, problem)
        return await self._optimistic(key, "tagging…", {"tags": tuple(unique)}, "tags")

    async def rename(self, key: JobKey, name: str) -> ActionResult:
        clean = name.strip() or None
        return await self._optimistic(key, "renaming…", {"name": clean}, "name")

    async def _optimistic(
        self, key: JobKey, intent: str, fields: dict[str, Any], what: str
    ) -> ActionResult:
        poller = self.pollers.get(key[0])
        if poller is None or self._job(key) is None:
            return ActionResult(key, False, f"{key[1]}: unknown job")
        if self.readonly:
            return ActionResult(key, False, READ_ONLY)
        state = poller.state
        old = state.optimistic(key[1], intent, fields)
        assert old is not None  # known, just checked
        poller.publish(ChangeSet(changed=(state.jobs[key[1]],), intents=(key,)), state)
        try:
            if what == "tags":
                await poller.client.set_tags(key[1], list(fields["tags"]))
            else:
                await poller.client.rename(key[1], fields["name"])
        except ApiError as exc:
            back = state.roll_back(key[1], old, fields)
            changed = (back,) if back is not None else ()
            poller.publish(ChangeSet(changed=changed, intents=(key,)), state)
            return ActionResult(key, False, f"{what} of {key[1]} refused: {exc.detail}")
        state.set_intent(key[1], None)
        confirmed = state.jobs.get(key[1])
        if confirmed is not None and confirmed.status.is_final and state.cache is not None:
            await asyncio.to_thread(state.cache.put, [confirmed])
        poller.publish(ChangeSet(intents=(key,)), state)
        return ActionResult(key, True, f"{what} of {key[1]} saved")

    # --- sessions ------------------------------------------------------------------------

    async def close_session(self, key: SessionKey) -> ActionResult:
        """Stop a session accepting jobs: shown at once, confirmed or rolled back."""
        return await self._act(key, CLOSING)

    async def cancel_session(self, key: SessionKey) -> ActionResult:
        """Close a session now so that its queued jobs never run."""
        return await self._act(key, CANCELLING)

    async def _act(self, key: SessionKey, intent: str) -> ActionResult:
        if self.readonly:
            return ActionResult(key, False, READ_ONLY)
        source, session_id = key
        poller = self.pollers.get(source)
        state = poller.state if poller is not None else None
        old = state.sessions.get(session_id) if state is not None else None
        if poller is None or state is None or old is None:
            return ActionResult(key, False, f"{session_id}: unknown session")
        if old.closed:
            return ActionResult(key, False, f"session {session_id} is already closed")
        if intent == CLOSING and not old.accepting_jobs:
            return ActionResult(key, False, f"session {session_id} already accepts no jobs")
        if state.session_intents.get(session_id) == intent:
            return ActionResult(key, True, f"session {session_id}: already {intent}")
        acting = state.session_acting(session_id, intent)
        assert acting is not None  # known, just checked
        poller.publish(ChangeSet(sessions=(acting,)), state)
        verb = "close" if intent == CLOSING else "cancel"
        try:
            if intent == CLOSING:
                await poller.client.close_session(session_id)
            else:
                await poller.client.cancel_session(session_id)
        except ApiError as exc:
            state.session_refused(session_id, old)
            with contextlib.suppress(ApiError):
                state.apply_session(await poller.client.session(session_id))
            poller.publish(ChangeSet(sessions=(state.sessions[session_id],)), state)
            return ActionResult(key, False, f"{verb} of session {session_id} refused: {exc.detail}")
        state.session_acted(session_id)
        with contextlib.suppress(ApiError):
            state.apply_session(await poller.client.session(session_id))
        poller.publish(ChangeSet(sessions=(state.sessions[session_id],)), state)
        poller.wake()  # its jobs change: cancelled, or no new ones
        done = "closed" if state.sessions[session_id].state is SessionState.CLOSED else None
        return ActionResult(key, True, f"session {session_id} {done or 'accepts no new jobs'}")
