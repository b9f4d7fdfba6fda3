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
from collections.abc import Iterable, Mapping

from qjob_tui.api.errors import ApiError, NotFound, Unsupported
from qjob_tui.model import InstanceUsage, Job, Session
from qjob_tui.store.bus import ChangeBus
from qjob_tui.store.changes import ChangeSet, SessionKey
from qjob_tui.store.poller import SourcePoller
from qjob_tui.store.state import SourceState
from qjob_tui.store.store_config import StoreConfig

log = logging.getLogger("qjob_tui.store")

MAX_PER_ROUND = 20  # session reads per source per round: bounded however many are open


class SessionWatch:
    """Reads sessions, usage and the user each source says we are into the sources' states."""

    def __init__(
        self, pollers: Mapping[str, SourcePoller], config: StoreConfig, bus: ChangeBus
    ) -> None:
        self.pollers = pollers
        self.config = config
        self.bus = bus
        self.paused = False
        self._next_usage = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        bus.subscribe(self._heard)

    def _heard(self, changes: ChangeSet) -> None:
        if changes.added and self.has_unknown(changes.added):
            self.wake()  # a new session: read it now, not on the next round

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
            if not self.paused:
                try:
                    await self.poll_once()
                except Exception:  # a bug must not end the loop
                    log.exception("session poll failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.session_interval):
                    await self._wake.wait()

    # --- reading -------------------------------------------------------------------------

    def _state(self, source: str) -> SourceState | None:
        poller = self.pollers.get(source)
        return poller.state if poller is not None else None

    @property
    def sessions(self) -> dict[SessionKey, Session]:
        return {
            (name, sid): session
            for name, poller in self.pollers.items()
            for sid, session in poller.state.sessions.items()
        }

    @property
    def usage(self) -> dict[str, InstanceUsage]:
        return {
            name: poller.state.usage
            for name, poller in self.pollers.items()
            if poller.state.usage is not None
        }

    def session(self, key: SessionKey) -> Session | None:
        state = self._state(key[0])
        return state.sessions.get(key[1]) if state is not None else None

    def intent(self, key: SessionKey) -> str | None:
        state = self._state(key[0])
        return state.session_intents.get(key[1]) if state is not None else None

    # --- one round -----------------------------------------------------------------------

    def has_unknown(self, jobs: Iterable[Job]) -> bool:
        """Whether any of these jobs is in a session not read yet (nor known to be gone)."""
        for job in jobs:
            state = self._state(job.source) if job.session_id else None
            if (
                state is not None
                and job.session_id not in state.sessions
                and job.session_id not in state.missing_sessions
            ):
                return True
        return False

    def wanted(self) -> dict[str, list[str]]:
        """Per source, the sessions worth reading: those of known jobs, not closed, not gone."""
        wanted: dict[str, list[str]] = {}
        for name, poller in self.pollers.items():
            state = poller.state
            for job in state.jobs.values():
                sid = job.session_id
                if not sid or sid in state.missing_sessions:
                    continue
                known = state.sessions.get(sid)
                if known is not None and known.closed:
                    continue
                ids = wanted.setdefault(name, [])
                if sid not in ids:
                    ids.append(sid)
        return wanted

    async def poll_once(self, *, usage: bool | None = None) -> ChangeSet:
        """Read the open sessions and (on its cadence, or if ``usage``) the usage; publish."""
        loop_time = asyncio.get_running_loop().time()
        if usage is None:
            usage = loop_time >= self._next_usage
        if usage:
            self._next_usage = loop_time + self.config.usage_interval
        wanted = self.wanted()
        results = await asyncio.gather(
            *(self._read_sessions(source, ids[:MAX_PER_ROUND]) for source, ids in wanted.items()),
            *(self._read_usage(source) for source in self.pollers if usage),
        )
        sessions = tuple(s for result in results if isinstance(result, list) for s in result)
        usages = tuple(result for result in results if isinstance(result, tuple))
        changes = ChangeSet(sessions=sessions, usage=usages)
        self.bus.publish(changes)
        return changes

    async def _read_sessions(self, source: str, ids: list[str]) -> list[Session]:
        poller = self.pollers[source]
        state = poller.state
        changed = []
        for session_id in ids:
            try:
                session = await poller.client.session(session_id)
            except (NotFound, Unsupported):
                state.session_missing(session_id)
                continue
            except ApiError as exc:
                log.info("session %s of %s: %s", session_id, source, exc)
                break  # the source is in trouble: the next round tries again
            if state is not poller.state:
                return []  # another server answers now: these were the old one's
            if state.apply_session(session):
                changed.append(session)
        return changed

    async def _read_usage(self, source: str) -> tuple[str, InstanceUsage] | None:
        poller = self.pollers[source]
        state = poller.state
        if state.own_user is None and not state.no_workloads:
            # Asked on every usage round until known: an account with no jobs yet has none.
            try:
                page = await poller.client.workloads(mine=True, limit=1)
                users = [item.user_id for item in page.workloads if item.user_id]
                state.own_user_learned(users[0] if users else None)
            except Unsupported:
                state.workloads_unsupported()
            except ApiError as exc:
                log.info("own user of %s: %s", source, exc)
        try:
            usage = await poller.client.usage()
        except ApiError as exc:
            log.info("usage of %s: %s", source, exc)
            return None
        if state is not poller.state or not state.apply_usage(usage):
            return None
        return (source, usage)
