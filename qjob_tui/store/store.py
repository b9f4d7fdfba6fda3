"""``JobStore``: the state of every job of every source, kept fresh at the lowest cost.

The store is the only code that decides when to poll. Per source, one poll is: one
``GET /jobs?pending=true`` for the active jobs, one ``GET /jobs?created_after=<newest seen>`` for
new ones, then details and metrics only for jobs whose status changed and for the job the user is
looking at. Final jobs are never polled again; they live in the cache. Each source polls in its
own loop, which re-arms its timer only after a poll finishes, so polls never stack and a failing
source never stalls the others. Subscribers receive one ``ChangeSet`` per poll or action.

The store knows nothing of Textual; ``qjob-tui ls --watch`` or a test can drive it as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError
from qjob_tui.api.source import LOCAL
from qjob_tui.model import Backend, InstanceUsage, Job, Session
from qjob_tui.store.actions import Actions
from qjob_tui.store.bus import ChangeBus, Subscriber
from qjob_tui.store.changes import (
    ActionResult,
    ChangeSet,
    JobKey,
    SessionKey,
    SourceHealth,
    SourceInfo,
    merge_changes,
)
from qjob_tui.store.errors import StoreError
from qjob_tui.store.poller import SourcePoller
from qjob_tui.store.readings import read_result
from qjob_tui.store.sessions import SessionWatch
from qjob_tui.store.store_config import StoreConfig
from qjob_tui.text import one_line
from qjob_tui.wire.errors import WireError

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

    from qjob_tui.results import EstimatorResult, ExecutorResult, ExtractorResult, JobResult

log = logging.getLogger("qjob_tui.store")

__all__ = ["JobStore", "Subscriber"]


def _draw_text(circuit: QuantumCircuit, width: int) -> str:
    """One circuit as Qiskit's text drawing, in UTF-8 box characters.

    ``QuantumCircuit.draw`` takes no encoding and reads ``sys.stdout.encoding``, which fails
    while Textual runs (its print capture has none): so the text drawer is called with one.
    """
    from qiskit.visualization.circuit.circuit_visualization import _text_circuit_drawer

    drawing = _text_circuit_drawer(
        circuit,
        fold=width,
        encoding="utf-8",
        vertical_compression="medium",
        initial_state=False,
        cregbundle=True,
    )
    return str(drawing)


LOG_LIMIT = 256 * 1024  # characters of a job's log kept for the log tab


def _draw_circuits(params: dict[str, object], width: int) -> list[str]:
    """Decode and draw, in a worker thread: both take Qiskit long enough to freeze a screen."""
    from qjob_tui.wire.circuits import decode_circuits

    circuits = decode_circuits(params)
    try:
        return [_draw_text(circuit, width) for circuit in circuits]
    except Exception as exc:  # a circuit Qiskit cannot draw is a message, not a lost worker
        raise StoreError(f"Qiskit cannot draw it: {one_line(exc)}", retryable=False) from None


@contextlib.contextmanager
def _at_edge() -> Iterator[None]:
    """The job library's and the wire format's errors as the store's own, for the ui."""
    try:
        yield
    except ApiError as exc:
        raise StoreError(str(exc)) from None
    except WireError as exc:
        raise StoreError(str(exc), retryable=False) from None


class JobStore:
    """Builds the parts of each source (its poller and state, its stream listener) and the
    shared ones (the bus, the session watch, the actions); read-only views and actions for
    the ui and the relay."""

    def __init__(self, clients: Iterable[JobClient], config: StoreConfig | None = None) -> None:
        self.config = config or StoreConfig()
        self.bus = ChangeBus()
        self.pollers: dict[str, SourcePoller] = {}
        # One bound for the whole store on the reads of missing steps, whatever their source.
        steps_bound = asyncio.Semaphore(self.config.steps_at_once)
        for client in clients:
            self.pollers[client.source.name] = SourcePoller(
                client, self.config, self.bus, steps_bound
            )
        self.session_watch = SessionWatch(self.pollers, self.config, self.bus)
        self.actions = Actions(self.pollers, self.bus, readonly=self.config.readonly)
        self._opened = False
        self._stopping = False

    # --- subscribers ---------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Receive every ChangeSet from now on; returns the function that unsubscribes."""
        return self.bus.subscribe(subscriber)

    # --- life cycle ----------------------------------------------------------------------

    def prefetch(self) -> None:
        """Before the event loop runs (the dashboard's start): begin ``open``'s work for
        every source in threads, so that it overlaps with the imports of the widgets."""
        for poller in self.pollers.values():
            poller.cached.prefetch()

    def open_now(self) -> bool:
        """``open`` at once, if every source's ``prefetch`` has its answer ready; else nothing
        (False), and ``open`` does the work. The dashboard calls it as it builds its screen:
        the cached jobs then reach the screen before its first frame, which ``open`` from the
        app's mount comes after (that frame showed an empty list, then a second the jobs)."""
        if self._opened or not all(p.cached.ready_early() for p in self.pollers.values()):
            return False
        self._opened = True
        early = [poller.cached.opened_early() for poller in self.pollers.values()]
        for changes in [c for c in early if c is not None]:
            self.bus.publish(changes)
        return True

    async def open(self) -> None:
        """The first part of ``start``: ask each source who it is and show the newest
        screenful of its cached history. A dashboard paints that, then calls ``start``."""
        if self._opened:
            return
        self._opened = True
        early = {name: poller.cached.opened_early() for name, poller in self.pollers.items()}
        waiting = [poller for name, poller in self.pollers.items() if early[name] is None]
        # Each source is asked who it is at the same time: a dead one delays none of the others.
        # (Not even a yield to the loop when every prefetch is ready: Textual's mounting would
        # run first, and the first frame would come before the cached jobs.)
        opened = await asyncio.gather(*(poller.cached.open() for poller in waiting))
        for changes in [c for c in early.values() if c is not None] + opened:
            self.bus.publish(changes)

    async def start(self, *, poll: bool = True) -> None:
        """Show cached history (``open``, then the older jobs), then start one polling loop per
        source (unless ``poll`` is False: then the owner calls ``poll_once``, as tests and
        one-shot commands do). Every cached job is known before the first poll."""
        await self.open()
        caches = [poller.cached for poller in self.pollers.values()]
        rest = await asyncio.gather(*(cached.load_rest() for cached in caches))
        for changes in rest:
            self.bus.publish(changes)
        # The cached history lives as long as the app: keep the collector from scanning it.
        gc.freeze()
        if self._stopping:
            return  # stopped while the cache loaded (the user quit at once): poll nothing
        if poll:
            for poller in self.pollers.values():
                poller.start()
            self.session_watch.start()

    async def stop(self) -> None:
        self._stopping = True
        await self.session_watch.stop()
        await asyncio.gather(*(poller.stop() for poller in self.pollers.values()))

    async def poll_once(self) -> None:
        """Poll every source once now (headless use and tests)."""
        await asyncio.gather(*(poller.poll_once() for poller in self.pollers.values()))

    def refresh_now(self) -> None:
        for poller in self.pollers.values():
            poller.wake()
        self.session_watch.wake()

    def load_more(self) -> None:
        """The user reached the end of the list: load the next page of older history now."""
        for poller in self.pollers.values():
            poller.load_more()

    @property
    def paused(self) -> bool:
        return self.bus.holding

    @property
    def paused_since(self) -> datetime | None:
        """When the user paused; None while not paused."""
        return self.bus.held_since

    def pause(self) -> None:
        """Freeze what is shown: no polls, pushed changes held, nothing published until
        ``resume``, which applies it all at once."""
        self.session_watch.paused = True
        self.bus.hold(lambda: merge_changes(p.set_paused(True) for p in self.pollers.values()))

    def resume(self) -> None:
        self.session_watch.paused = False
        for poller in self.pollers.values():
            poller.paused = False
            poller.stream.release()  # what was pushed meanwhile, into the state (held)
        self.bus.release(lambda: merge_changes(p.set_paused(False) for p in self.pollers.values()))
        self.refresh_now()

    # --- state ---------------------------------------------------------------------------

    @property
    def jobs(self) -> Mapping[JobKey, Job]:
        return {(name, jid): job for name, p in self.pollers.items() for jid, job in p.jobs.items()}

    def all_jobs(self) -> Iterator[Job]:
        """Every known job, without building a mapping."""
        for poller in self.pollers.values():
            yield from poller.jobs.values()

    def job(self, key: JobKey) -> Job | None:
        poller = self.pollers.get(key[0])
        return poller.jobs.get(key[1]) if poller else None

    @property
    def backends(self) -> list[Backend]:
        return [b for p in self.pollers.values() for b in p.backends.values()]

    @property
    def health(self) -> list[SourceHealth]:
        return [p.health for p in self.pollers.values()]

    def queue_history(self, source: str, backend: str) -> list[int]:
        poller = self.pollers.get(source)
        history = poller.state.queue_history.get(backend, ()) if poller else ()
        return [n for _, n in history]

    def intent(self, key: JobKey) -> str | None:
        """The action in flight on a job ("cancelling…"), shown until the server confirms."""
        poller = self.pollers.get(key[0])
        return poller.state.intents.get(key[1]) if poller else None

    def identity(self, source: str) -> str | None:
        """Who answers at a source now (its server's identity); None until known."""
        poller = self.pollers.get(source)
        return poller.identity if poller else None

    def clock_offset(self, source: str) -> timedelta:
        """How far a source's server clock is ahead of this machine's: durations and ages of
        its running jobs are measured on the server's clock, from the server's timestamps."""
        poller = self.pollers.get(source)
        return poller.client.clock_offset if poller else timedelta(0)

    def watch(self, key: JobKey | None) -> None:
        """The job on screen: kept fully fresh (details and metrics) on every poll."""
        for name, poller in self.pollers.items():
            poller.watched = key[1] if key and key[0] == name else None

    def in_view(self, keys: Iterable[JobKey]) -> None:
        """The jobs a list shows now (call it when that changes): the finished ones among them
        without steps, so without a duration, are read, each once per server; the jobs never
        shown cost no request."""
        ids: dict[str, list[str]] = {name: [] for name in self.pollers}
        for source, job_id in keys:
            if source in ids:
                ids[source].append(job_id)
        for name, poller in self.pollers.items():
            poller.steps.in_view(ids[name])

    async def with_steps(self, key: JobKey) -> Job | None:
        """The job, its steps read first if it is finished and lacks them (a relay answers
        its viewers' metrics so: one request upstream however many ask); None if unknown."""
        poller = self.pollers.get(key[0])
        return await poller.steps.job(key[1]) if poller is not None else None

    @property
    def submitted(self) -> set[JobKey]:
        """Jobs submitted through this store (its session), on the servers answering now."""
        return {(name, jid) for name, p in self.pollers.items() for jid in p.state.submitted}

    @property
    def sources(self) -> list[SourceInfo]:
        """Every source watched, as plain data (no credentials, no client)."""
        return [self.source_info(name) for name in self.pollers]

    def source_info(self, name: str) -> SourceInfo:
        source = self.pollers[name].client.source
        return SourceInfo(
            name=source.name,
            url=source.url,
            local=source.kind == LOCAL,
            can_rename=source.can_rename,
            relayed=source.relayed,
        )

    def job_page_url(self, key: JobKey) -> str | None:
        """The job's web page at its provider (IBM Quantum Platform), if it has one."""
        poller = self.pollers.get(key[0])
        return poller.client.source.job_page(key[1]) if poller else None

    def client(self, source: str) -> JobClient:
        return self.pollers[source].client

    # --- sessions and usage --------------------------------------------------------------

    async def poll_sessions(self, *, usage: bool | None = None) -> ChangeSet:
        """Read the open sessions of the known jobs (and the usage) once now."""
        return await self.session_watch.poll_once(usage=usage)

    @property
    def sessions(self) -> Mapping[SessionKey, Session]:
        return self.session_watch.sessions

    def session(self, key: SessionKey) -> Session | None:
        return self.session_watch.session(key)

    def session_intent(self, key: SessionKey) -> str | None:
        """The action in flight on a session ("closing…", "cancelling…")."""
        return self.session_watch.intent(key)

    def session_jobs(self, key: SessionKey) -> list[Job]:
        """The known jobs of a session or batch, newest first."""
        poller = self.pollers.get(key[0])
        if poller is None:
            return []
        jobs = [job for job in poller.jobs.values() if job.session_id == key[1]]
        return sorted(jobs, key=lambda job: job.created, reverse=True)

    @property
    def usage(self) -> Mapping[str, InstanceUsage]:
        """The last usage each source reported, by source name."""
        return self.session_watch.usage

    def own_user(self, source: str) -> str | None:
        """The user id the source says the account has; None where it does not say."""
        poller = self.pollers.get(source)
        return poller.state.own_user if poller else None

    async def close_session(self, key: SessionKey) -> ActionResult:
        """Stop a session accepting jobs: shown at once, confirmed or rolled back."""
        return await self.actions.close_session(key)

    async def cancel_session(self, key: SessionKey) -> ActionResult:
        """Close a session now so that its queued jobs never run."""
        return await self.actions.cancel_session(key)

    # --- details and results -------------------------------------------------------------

    async def details(self, key: JobKey) -> Job:
        """The job with fresh metrics (steps, queue place, usage); StoreError if unreadable."""
        with _at_edge():
            return await self.actions.details(key)

    async def _reading(self, kind: str, key: JobKey) -> object:
        poller = self.pollers[key[0]]
        with _at_edge():
            return await read_result(kind, poller.state, poller.client, key[1])

    async def result(self, key: JobKey) -> JobResult | None:
        """A final sampler job's counts: from memory, the cache, or the service once."""
        return await self._reading("sampler", key)  # type: ignore[return-value]

    async def estimator_result(self, key: JobKey) -> EstimatorResult | None:
        """A finished estimator job's expectation values (kept in memory once read)."""
        return await self._reading("estimator", key)  # type: ignore[return-value]

    async def executor_result(
        self, key: JobKey
    ) -> JobResult | EstimatorResult | ExecutorResult | None:
        """A finished executor job's result, as its client-side primitive reads it where it
        has one (kept in memory once read)."""
        return await self._reading("executor", key)  # type: ignore[return-value]

    async def extracted_bits(self, key: JobKey) -> ExtractorResult | None:
        """A finished random-extractor job's bits and checks (kept in memory once read)."""
        return await self._reading("extractor", key)  # type: ignore[return-value]

    async def job_log(self, key: JobKey) -> str:
        """The job's log (the last ``LOG_LIMIT`` characters: a log can grow without end)."""
        with _at_edge():
            text = await self.pollers[key[0]].client.logs(key[1])
        if len(text) > LOG_LIMIT:
            cut = len(text) - LOG_LIMIT
            text = f"(… {cut:,} earlier characters not shown)\n" + text[cut:]
        return text

    async def raw_json(self, key: JobKey) -> str:
        """The job and its metrics as the server sent them, secrets masked, as pretty JSON
        (formatted in a thread: a job's JSON can be large)."""
        with _at_edge():
            body = await self.pollers[key[0]].client.raw_job(key[1])
        return await asyncio.to_thread(json.dumps, body, indent=2, ensure_ascii=False)

    async def circuit_diagrams(self, key: JobKey, width: int = 80) -> list[str]:
        """Text diagrams of the job's circuits, decoded and drawn in a thread (Qiskit is slow
        to import and to draw); empty when the service does not return the job's params."""
        with _at_edge():
            params = await self.pollers[key[0]].client.params(key[1])
            if not params:
                return []
            return await asyncio.to_thread(_draw_circuits, params, width)

    # --- actions -------------------------------------------------------------------------

    async def cancel(self, keys: Iterable[JobKey]) -> list[ActionResult]:
        """Cancel jobs: shown as "cancelling…" at once, confirmed or rolled back by the server."""
        return await self.actions.cancel(keys)

    async def extract(self, key: JobKey) -> ActionResult:
        """Submit a random-extractor job over a finished sampler job's measured bits."""
        return await self.actions.extract(key)

    async def set_tags(self, key: JobKey, tags: list[str]) -> ActionResult:
        """Replace a job's tags: shown at once, rolled back if the server refuses."""
        return await self.actions.set_tags(key, tags)

    async def rename(self, key: JobKey, name: str) -> ActionResult:
        return await self.actions.rename(key, name)
