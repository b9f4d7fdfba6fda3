"""``SessionWatch``: the sessions and batches of the jobs the store knows, and each source's usage.

Sessions change slowly next to jobs and a closed one never changes again, so they are read on
their own slow timer (``StoreConfig.session_interval``), only while not closed, at most
``MAX_PER_ROUND`` per source per round; usage on a slower one still. The timer re-arms after a
round ends, as the job pollers do, so rounds never stack. A failure keeps what was last seen:
the job pollers already report a source's health.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from qjob_tui.api.errors import ApiError, NotFound, Unsupported
from qjob_tui.model import InstanceUsage, Job, Session, SessionState
from qjob_tui.store.changes import ActionResult, ChangeSet, SessionKey

if TYPE_CHECKING:
    from qjob_tui.store.store import JobStore

log = logging.getLogger("qjob_tui.store")

MAX_PER_ROUND = 20  # session reads per source per round: bounded however many are open
CLOSING, CANCELLING = "closing…", "cancelling…"


class SessionWatch:
    """Sessions by key, usage by source, the user each source says we are, session actions."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.sessions: dict[SessionKey, Session] = {}
        self.usage: dict[str, InstanceUsage] = {}
        self.own_users: dict[str, str | None] = {}
        self._no_workloads: set[str] = set()  # sources without ``GET /workloads``
        self._missing: set[SessionKey] = set()  # ids the server does not know: not asked again
        self._intents: dict[SessionKey, str] = {}
        self._next_usage = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="poll-sessions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            if not self.store.paused:
                try:
                    await self.poll_once()
                except Exception:  # a bug must not end the loop
                    log.exception("session poll failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=self.store.config.session_interval
                )

    # --- one round -----------------------------------------------------------------------

    def has_unknown(self, jobs: Iterable[Job]) -> bool:
        """Whether any of these jobs is in a session not read yet (nor known to be gone)."""
        for job in jobs:
            if job.session_id:
                key = (job.source, job.session_id)
                if key not in self.sessions and key not in self._missing:
                    return True
        return False

    def wanted(self) -> dict[str, list[str]]:
        """Per source, the sessions worth reading: those of known jobs, not closed, not gone."""
        wanted: dict[str, list[str]] = {}
        for job in self.store.all_jobs():
            if not job.session_id:
                continue
            key = (job.source, job.session_id)
            known = self.sessions.get(key)
            if key in self._missing or (known is not None and known.closed):
                continue
            ids = wanted.setdefault(job.source, [])
            if job.session_id not in ids:
                ids.append(job.session_id)
        return wanted

    async def poll_once(self, *, usage: bool | None = None) -> ChangeSet:
        """Read the open sessions and (on its cadence, or if ``usage``) the usage; publish."""
        loop_time = asyncio.get_running_loop().time()
        if usage is None:
            usage = loop_time >= self._next_usage
        if usage:
            self._next_usage = loop_time + self.store.config.usage_interval
        wanted = self.wanted()
        results = await asyncio.gather(
            *(self._read_sessions(source, ids[:MAX_PER_ROUND]) for source, ids in wanted.items()),
            *(self._read_usage(source) for source in self.store.pollers if usage),
        )
        sessions = tuple(s for result in results if isinstance(result, list) for s in result)
        usages = tuple(result for result in results if isinstance(result, tuple))
        changes = ChangeSet(sessions=sessions, usage=usages)
        self.store._publish(changes)
        return changes

    async def _read_sessions(self, source: str, ids: list[str]) -> list[Session]:
        poller = self.store.pollers.get(source)
        if poller is None:
            return []
        changed = []
        for session_id in ids:
            key = (source, session_id)
            try:
                session = await poller.client.session(session_id)
            except (NotFound, Unsupported):
                self._missing.add(key)
                continue
            except ApiError as exc:
                log.info("session %s of %s: %s", session_id, source, exc)
                break  # the source is in trouble: the next round tries again
            if self.sessions.get(key) != session:
                self.sessions[key] = session
                changed.append(session)
        return changed

    async def _read_usage(self, source: str) -> tuple[str, InstanceUsage] | None:
        poller = self.store.pollers[source]
        if self.own_users.get(source) is None and source not in self._no_workloads:
            # Asked on every usage round until known: an account with no jobs yet has none.
            try:
                page = await poller.client.workloads(mine=True, limit=1)
                users = [item.user_id for item in page.workloads if item.user_id]
                self.own_users[source] = users[0] if users else None
            except Unsupported:
                self._no_workloads.add(source)
            except ApiError as exc:
                log.info("own user of %s: %s", source, exc)
        try:
            usage = await poller.client.usage()
        except ApiError as exc:
            log.info("usage of %s: %s", source, exc)
            return None
        if self.usage.get(source) == usage:
            return None
        self.usage[source] = usage
        return (source, usage)

    # --- reading -------------------------------------------------------------------------

    def session(self, key: SessionKey) -> Session | None:
        return self.sessions.get(key)

    def intent(self, key: SessionKey) -> str | None:
        return self._intents.get(key)

    # --- actions -------------------------------------------------------------------------

    async def close(self, key: SessionKey) -> ActionResult:
        """Stop a session accepting jobs: shown at once, confirmed or rolled back."""
        return await self._act(key, CLOSING)

    async def cancel(self, key: SessionKey) -> ActionResult:
        """Close a session now so that its queued jobs never run."""
        return await self._act(key, CANCELLING)

    async def _act(self, key: SessionKey, intent: str) -> ActionResult:
        source, session_id = key
        poller = self.store.pollers.get(source)
        old = self.sessions.get(key)
        if poller is None or old is None:
            return ActionResult(key, False, f"{session_id}: unknown session")
        if old.closed:
            return ActionResult(key, False, f"session {session_id} is already closed")
        if intent == CLOSING and not old.accepting_jobs:
            return ActionResult(key, False, f"session {session_id} already accepts no jobs")
        if self._intents.get(key) == intent:
            return ActionResult(key, True, f"session {session_id}: already {intent}")
        self._intents[key] = intent
        self.sessions[key] = replace(old, accepting_jobs=False)
        self.store._publish(ChangeSet(sessions=(self.sessions[key],)))
        verb = "close" if intent == CLOSING else "cancel"
        try:
            if intent == CLOSING:
                await poller.client.close_session(session_id)
            else:
                await poller.client.cancel_session(session_id)
        except ApiError as exc:
            self._intents.pop(key, None)
            self.sessions[key] = old
            with contextlib.suppress(ApiError):
                self.sessions[key] = await poller.client.session(session_id)
            self.store._publish(ChangeSet(sessions=(self.sessions[key],)))
            return ActionResult(key, False, f"{verb} of session {session_id} refused: {exc.detail}")
        self._intents.pop(key, None)
        with contextlib.suppress(ApiError):
            self.sessions[key] = await poller.client.session(session_id)
        self.store._publish(ChangeSet(sessions=(self.sessions[key],)))
        poller.wake()  # its jobs change: cancelled, or no new ones
        state = self.sessions[key].state
        done = "closed" if state is SessionState.CLOSED else "accepts no new jobs"
        return ActionResult(key, True, f"session {session_id} {done}")
