"""The whole dashboard on fixed jobs, backends and a fixed clock, for snapshots and screenshots.

Nothing here touches the network or the wall clock: the store is never started, its poller is
filled directly, the job the detail pane would fetch is answered from memory, the Result tab
reads a result put in the store beforehand, and every time on screen derives from ``CLOCK``
(relative times through the app's clock, absolute times in UTC).

Run it with ``python -m tests.apps.dashboard_app``; snapshot tests and ``scripts/screenshots.py``
build it with ``make_app``.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from textual.pilot import Pilot
from textual.widgets import Input

import qjob_tui.ui.app as app_module
from qjob_tui.api.client import JobClient
from qjob_tui.api.http import RetryPolicy
from qjob_tui.api.source import Source
from qjob_tui.config import Settings
from qjob_tui.extract import CheckResult
from qjob_tui.model import (
    Backend,
    BackendState,
    InstanceUsage,
    Job,
    JobError,
    JobStatus,
    QueueInfo,
    Session,
    SessionMode,
    SessionState,
    Step,
    Usage,
)
from qjob_tui.results import Counts, ExtractorResult, JobResult, PubResult, RegisterResult
from qjob_tui.store import JobStore
from qjob_tui.store.changes import ChangeSet, JobKey, SourceHealth
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.jobs.job_list import JobList

# Absolute times (detail pane, queue estimates) are shown in local time: make it UTC everywhere.
os.environ["TZ"] = "UTC"
time.tzset()

SOURCE = "local"
OFFLINE = "http://127.0.0.1:9"  # where the unreachable screen's service would be
THEME = "textual-dark"
CLOCK = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
"""The dashboard's "now": a few minutes after the newest job was created."""


ACTIVE_SESSION = "s-b3c1e8d7"  # a dedicated session on fake_cairo: one job runs, one waits
CLOSED_BATCH = "s-7f3a9c2e"  # a batch that finished


@dataclass(frozen=True)
class _Spec:
    """One job, with its steps as seconds after its creation."""

    id: str
    status: JobStatus
    minutes_ago: float
    backend: str | None
    name: str | None = None
    tags: tuple[str, ...] = ()
    program: str = "sampler"
    queued: float | None = 1.5
    running: float | None = None
    finished: float | None = None
    queue: tuple[int, float, float] | None = None  # position, start and end in minutes from now
    usage: float = 0.0
    estimate: float | None = None
    error: JobError | None = None
    session: str | None = None


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "d5kq0r7w2m9vx3c8n1ta",
        JobStatus.QUEUED,
        2,
        "fake_cairo",
        "long QFT",
        ("demo", "long"),
        queue=(3, 6.5, 11),
        estimate=212.0,
    ),
    _Spec(
        "d5kpz8c1x0q2m7v4b6rs",
        JobStatus.RUNNING,
        3,
        "fake_cairo",
        "QFT 6",
        ("demo", "qft"),
        running=64,
        usage=41.2,
        estimate=96.0,
        session=ACTIVE_SESSION,
    ),
    _Spec(
        "d5kpy3n6t9w1e4r7u2io",
        JobStatus.RUNNING,
        4,
        "fake_lima",
        "random bits",
        ("qrng",),
        running=12,
        usage=180.5,
    ),
    _Spec(
        "d5kpx1a4s7d0f3g6h9jk",
        JobStatus.QUEUED,
        5,
        "fake_cairo",
        None,
        ("long",),
        queue=(4, 9.5, 14),
        session=ACTIVE_SESSION,
    ),
    _Spec(
        "d5kpw9l2z5x8c1v4b7nm",
        JobStatus.VALIDATING,
        6,
        "basic_simulator",
        "ghz-4 validation",
        (),
        queued=None,
    ),
    _Spec("d5kpv6q3w0e7r4t1y8ui", JobStatus.INITIALIZING, 7, None, None, (), queued=None),
    _Spec(
        "d5kpu4o1p8a5s2d9f6gh",
        JobStatus.QUEUED,
        9,
        "fake_perth",
        "waits for the pause",
        ("demo",),
        queue=(1, 0, 0),
    ),
    _Spec(
        "d5kpt2j9k6l3z0x7c4vb",
        JobStatus.DONE,
        12,
        "fake_perth",
        "GHZ 3",
        ("demo", "ghz"),
        running=38.4,
        finished=51.9,
        usage=9.7,
    ),
    _Spec(
        "d5kps0n7m4q1w8e5r2ty",
        JobStatus.ERROR,
        14,
        "basic_simulator",
        "typo in circuit",
        ("demo",),
        running=2.2,
        finished=2.6,
        error=JobError(
            1501,
            "The circuit could not be parsed: line 3: unknown gate 'hh'.",
            "Check the gate names in the OpenQASM text and submit the job again.",
        ),
    ),
    _Spec(
        "d5kpr8u5i2o9p6a3s0df",
        JobStatus.CANCELLED,
        16,
        "fake_lima",
        "to be cancelled",
        (),
        running=8,
        finished=70,
        usage=55.0,
    ),
    _Spec(
        "d5kpq6g3h0j7k4l1z8xc",
        JobStatus.DONE,
        21,
        "basic_simulator",
        "[bold]markup[/] shows literally",
        ("[red]tag[/]",),
        running=3,
        finished=4.25,
        usage=1.1,
    ),
    _Spec(
        "d5kpp4v1b8n5m2q9w6er",
        JobStatus.ERROR,
        25,
        "basic_simulator",
        "too wide for the simulator",
        (),
        running=1.8,
        finished=2.0,
        error=JobError(
            1502,
            "The circuit has 26 qubits; basic_simulator has 24.",
            "Run it on aer_simulator or make the circuit narrower.",
        ),
    ),
    _Spec(
        "d5kpn2t9y6u3i0o7p4as",
        JobStatus.DONE,
        33,
        "fake_perth",
        "ghz-7",
        (),
        running=95,
        finished=131,
        usage=33.8,
    ),
    _Spec(
        "d5kpm0d7f4g1h8j5k2lz",
        JobStatus.DONE,
        41,
        "fake_lima",
        "extracted bits",
        ("qrng", "extractor"),
        program="random-extractor",
        running=4,
        finished=9,
        usage=0.0,
    ),
    _Spec(
        "d5kpk8x5c2v9b6n3m0qw",
        JobStatus.DONE,
        58,
        "aer_simulator",
        "vqe h2 sweep",
        ("vqe", "h2", "sweep-3"),
        running=6,
        finished=47,
        usage=12.4,
        session=CLOSED_BATCH,
    ),
    _Spec(
        "d5kpj6e3r0t7y4u1i8op",
        JobStatus.CANCELLED,
        75,
        "fake_cairo",
        "cancelled while queued",
        ("long",),
        finished=600,
    ),
    _Spec(
        "d5kph4a1s8d5f2g9h6jk",
        JobStatus.DONE,
        95,
        "fake_cairo",
        "a rather long experiment name that will not fit in a narrow terminal",
        ("calibration", "qubit-3", "long-running-tag"),
        running=1260,
        finished=2214,
        usage=702.6,
    ),
    _Spec(
        "d5kpg2l9z6x3c0v7b4nm",
        JobStatus.DONE,
        150,
        "fake_perth",
        "bell pair",
        ("demo",),
        running=30,
        finished=34,
        usage=3.2,
        session=CLOSED_BATCH,
    ),
    _Spec(
        "d5kpf0q7w4e1r8t5y2ui",
        JobStatus.ERROR,
        200,
        "fake_cairo",
        "deep circuit",
        (),
        running=300,
        finished=1500,
        usage=1198.0,
        error=JobError(
            2000,
            "Execution failed: the worker ran out of memory.",
            "Use fewer shots or split the circuit into smaller jobs.",
        ),
    ),
    _Spec(
        "d5kpe8o5p2a9s6d3f0gh",
        JobStatus.DONE,
        320,
        "basic_simulator",
        "GHZ 3",
        ("demo", "ghz"),
        running=1,
        finished=1.4,
        usage=0.4,
    ),
    _Spec(
        "d5kpd6j3k0l7z4x1c8vb",
        JobStatus.DONE,
        1500,
        "fake_lima",
        "nightly calibration",
        (
            "nightly",
            "calibration",
            "qubit-0",
            "qubit-1",
            "qubit-2",
            "qubit-3",
            "t1",
            "t2",
        ),
        running=40,
        finished=220,
        usage=176.0,
    ),
    _Spec(
        "d5kpc4n1m8q5w2e9r6ty",
        JobStatus.DONE,
        2900,
        "aer_simulator",
        "QFT 12",
        ("qft",),
        running=2,
        finished=15,
        usage=11.0,
    ),
    _Spec(
        "d5kpb2u9i6o3p0a7s4df",
        JobStatus.CANCELLED,
        4400,
        "fake_perth",
        None,
        (),
        running=20,
        finished=25,
        usage=2.5,
    ),
    _Spec(
        "d5kpa0g7h4j1k8l5z2xc",
        JobStatus.DONE,
        8700,
        "basic_simulator",
        "ghz-5",
        (),
        running=1,
        finished=2,
        usage=0.6,
    ),
    _Spec(
        "d5kp98v5b2n9m6q3w0er",
        JobStatus.DONE,
        58000,
        "fake_lima",
        "first job",
        ("demo",),
        running=10,
        finished=12,
        usage=1.9,
    ),
)

# Jobs the snapshots pick by id.
QUEUED_JOB = _SPECS[0].id  # the newest: under the cursor at start
DONE_JOB = "d5kpt2j9k6l3z0x7c4vb"  # GHZ 3 on fake_perth, with a result
FAILED_JOB = "d5kps0n7m4q1w8e5r2ty"  # reason code and solution
EIGHT_TAGS_JOB = "d5kpd6j3k0l7z4x1c8vb"  # at the tag limit
EXTRACTOR_JOB = "d5kpm0d7f4g1h8j5k2lz"  # random-extractor, with bits


def _job(spec: _Spec) -> Job:
    created = CLOCK - timedelta(minutes=spec.minutes_ago)

    def at(seconds: float) -> datetime:
        return created + timedelta(seconds=seconds)

    steps = [Step("created", created)]
    if spec.queued is not None:
        steps.append(Step("queued", at(spec.queued)))
    if spec.running is not None:
        steps.append(Step("running", at(spec.running)))
    if spec.finished is not None:
        steps.append(Step("finished", at(spec.finished)))
    queue = QueueInfo()
    if spec.queue is not None:
        position, start, end = spec.queue
        queue = QueueInfo(
            position=position,
            estimated_start=CLOCK + timedelta(minutes=start) if start else None,
            estimated_completion=CLOCK + timedelta(minutes=end) if end else None,
        )
    return Job(
        id=spec.id,
        source=SOURCE,
        status=spec.status,
        created=created,
        backend=spec.backend,
        program=spec.program,
        tags=spec.tags,
        name=spec.name,
        session_id=spec.session,
        steps=tuple(steps),
        queue=queue,
        usage=Usage(spec.usage, final=spec.status.is_final),
        estimated_running_seconds=spec.estimate,
        error=spec.error,
    )


def sample_jobs() -> list[Job]:
    """About 25 jobs of every status, newest first."""
    return [_job(spec) for spec in _SPECS]


def sample_sessions() -> list[Session]:
    """The two sessions of the sample jobs, as ``GET /sessions/{id}`` would give them."""
    return [
        Session(
            ACTIVE_SESSION,
            SOURCE,
            SessionMode.DEDICATED,
            SessionState.ACTIVE,
            accepting_jobs=True,
            backend="fake_cairo",
            interactive_ttl=60,
            max_ttl=28800,
            started_at=CLOCK - timedelta(minutes=6),
            activated_at=CLOCK - timedelta(minutes=2),
            last_job_started=CLOCK - timedelta(minutes=2),
            elapsed_seconds=120.0,
            user_id="user-1",
        ),
        Session(
            CLOSED_BATCH,
            SOURCE,
            SessionMode.BATCH,
            SessionState.CLOSED,
            accepting_jobs=False,
            backend="aer_simulator",
            max_ttl=28800,
            started_at=CLOCK - timedelta(minutes=151),
            activated_at=CLOCK - timedelta(minutes=150),
            closed_at=CLOCK - timedelta(minutes=57),
            last_job_completed=CLOCK - timedelta(minutes=57),
            elapsed_seconds=15.6,
            state_reason="closed by the user",
        ),
    ]


def sample_backends() -> list[Backend]:
    return [
        Backend("basic_simulator", SOURCE, BackendState.ONLINE, 0, 24, simulator=True),
        Backend("aer_simulator", SOURCE, BackendState.OFFLINE, 0, 32, simulator=True),
        Backend("fake_lima", SOURCE, BackendState.ONLINE, 2, 5),
        Backend("fake_perth", SOURCE, BackendState.PAUSED, 1, 7, message="maintenance"),
        Backend("fake_cairo", SOURCE, BackendState.ONLINE, 14, 27),
    ]


# Queue lengths sampled this session, oldest first (drawn as sparklines).
_HISTORY: dict[str, tuple[int, ...]] = {
    "basic_simulator": (0, 1, 0, 0, 2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0),
    "aer_simulator": (3, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "fake_lima": (1, 1, 2, 3, 3, 4, 3, 2, 2, 1, 1, 2, 3, 4, 5, 4, 3, 3, 2, 2),
    "fake_perth": (6, 7, 7, 8, 6, 5, 4, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1),
    "fake_cairo": (2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 9, 10, 11, 11, 12, 12, 13, 13, 14, 14),
}


def sample_result() -> JobResult:
    """A noisy GHZ-3 on 4,000 shots, with a one-bit flag register beside it."""
    meas = Counts(
        {
            "000": 1890,
            "111": 1823,
            "001": 71,
            "110": 64,
            "011": 58,
            "100": 49,
            "010": 23,
            "101": 22,
        }
    )
    flag = Counts({"0": 3712, "1": 288})
    registers = (RegisterResult("meas", 3, meas), RegisterResult("flag", 1, flag))
    return JobResult(pubs=(PubResult(registers=registers),))


def sample_bits() -> ExtractorResult:
    """512 fixed bits from a seeded generator, with the service's three checks."""
    bits = np.random.default_rng(20261122).integers(0, 2, 512, dtype=np.uint8)
    bits.setflags(write=False)
    quality = (
        CheckResult("bias", 0.71, 0.4795, True),
        CheckResult("frequency", 1.13, 0.2568, True),
        CheckResult("runs", 0.52, 0.6031, True),
    )
    params = {"n": 1024, "m": 512, "raw_job": DONE_JOB}
    return ExtractorResult(bits=bits, num_bits=512, method="ext1", params=params, quality=quality)


def _offline(request: httpx.Request) -> httpx.Response:
    """Every request fails at once: nothing in a snapshot may wait on a network."""
    return httpx.Response(503, json={"errors": [{"code": 503, "message": "offline"}]})


class OfflineStore(JobStore):
    """A store that answers from what it holds: no request is ever sent."""

    async def details(self, key: JobKey) -> Job:
        job = self.job(key)
        if job is None:  # pragma: no cover - the app asks only for jobs it shows
            raise KeyError(key)
        return job

    async def circuit_diagrams(self, key: JobKey, width: int = 80) -> list[str]:
        return []

    async def job_log(self, key: JobKey) -> str:
        job = self.job(key)
        if job is None or job.status is JobStatus.INITIALIZING:
            return ""
        lines = [f"{step.at:%Y-%m-%dT%H:%M:%SZ} {step.name}" for step in job.steps]
        return "\n".join(lines) + "\n"

    async def raw_json(self, key: JobKey) -> str:
        job = self.job(key)
        if job is None:  # pragma: no cover
            raise KeyError(key)
        body = {
            "job": {
                "id": job.id,
                "backend": job.backend,
                "state": {"status": job.status.value.title(), "reason": None},
                "status": job.status.value.title(),
                "program": {"id": job.program},
                "created": f"{job.created:%Y-%m-%dT%H:%M:%S.000000Z}",
                "tags": list(job.tags),
                "name": job.name,
            },
            "metrics": {
                "timestamps": {s.name: f"{s.at:%Y-%m-%dT%H:%M:%S.000000Z}" for s in job.steps},
                "usage": {"seconds": job.usage.quantum_seconds},
                "position_in_queue": job.queue.position,
            },
        }
        return json.dumps(body, indent=2, ensure_ascii=False)


def make_store(variant: str = "") -> OfflineStore:
    """The fixed state; ``variant`` "unreachable" is a fresh start whose service never answered."""
    client = JobClient(
        Source.local(OFFLINE),
        transport=httpx.MockTransport(_offline),
        policy=RetryPolicy(max_tries=1),
    )
    store = OfflineStore([client])
    poller = store.pollers[SOURCE]
    if variant == "unreachable":
        poller.health = SourceHealth(
            source=SOURCE,
            # As the client says it, with the address it tried.
            last_error=f"{SOURCE}: unreachable (ConnectError) at {OFFLINE}/api/v1 after 3 tries",
            no_answer=True,
            last_error_at=CLOCK - timedelta(seconds=1),
            next_poll=CLOCK + timedelta(seconds=4),
            interval=4.0,
            failures=3,
        )
        return store
    for job in sample_jobs():
        poller.jobs[job.id] = job
    poller.state.cursors.newest = max(job.created for job in poller.jobs.values())
    for backend in sample_backends():
        poller.backends[backend.name] = backend
        samples = _HISTORY[backend.name]
        start = CLOCK - timedelta(seconds=30 * len(samples))
        poller.state.queue_history[backend.name] = deque(
            ((start + timedelta(seconds=30 * i), n) for i, n in enumerate(samples)),
            maxlen=store.config.queue_samples,
        )
    poller.health = SourceHealth(
        source=SOURCE,
        last_success=CLOCK - timedelta(seconds=1),
        next_poll=CLOCK + timedelta(seconds=1),
        interval=store.config.interval,
        failures=0,
    )
    for session in sample_sessions():
        poller.state.sessions[session.id] = session
    poller.state.keep_reading("sampler", DONE_JOB, sample_result())
    poller.state.keep_reading("extractor", EXTRACTOR_JOB, sample_bits())
    return store


class DashboardApp(QJobApp):
    """The dashboard on ``make_store``'s state, shown as if its first poll had just arrived."""

    # A relative CSS_PATH is read beside the module of the class: point at the app's own.
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def __init__(
        self,
        *,
        readonly: bool = False,
        size_hint: tuple[int, int] | None = None,
        variant: str = "",
    ):
        super().__init__(
            make_store(variant),
            # The theme by name: Textual reads $TEXTUAL_THEME once, at import, into the default.
            settings=Settings(theme=THEME),
            readonly=readonly,
            clock=lambda: CLOCK,
            start_store=False,
        )
        self.size_hint = size_hint

    def on_mount(self) -> None:
        # Runs before QJobApp.on_mount; the message this posts is handled after both, exactly
        # as the news of a real poll would be.
        store = self.store
        self.store.bus.publish(
            ChangeSet(
                added=tuple(store.all_jobs()),
                backends=tuple(store.backends),
                health=tuple(store.health),
            )
        )


def make_app(
    readonly: bool = False, size_hint: tuple[int, int] | None = None, variant: str = ""
) -> DashboardApp:
    """A fresh dashboard; ``size_hint`` is the terminal size it is meant for, if any."""
    return DashboardApp(readonly=readonly, size_hint=size_hint, variant=variant)


# --- helpers for run_before and the screenshot script ---------------------------------------


def select(app: QJobApp, job_id: str) -> None:
    """Put the list's cursor on a job, as the arrow keys would."""
    job_list = app.query_one(JobList)
    index = job_list.rows.index_of((SOURCE, job_id))
    assert index is not None, job_id
    job_list.move_cursor(index)


def show_tab(app: QJobApp, tab: str) -> None:
    """Switch the detail pane to a tab: overview, timeline, result or circuit."""
    app.query_one(JobDetail).active = tab


async def settle(pilot: Pilot[int]) -> None:
    """Wait for the app to be idle, with text cursors steady (a blink would flicker a snapshot)."""
    await pilot.pause()
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def _press(pilot: Pilot[int], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def _main(pilot: Pilot[int]) -> None:
    await settle(pilot)


def _on_job(job_id: str, tab: str = "overview") -> Callable[[Pilot[int]], Awaitable[None]]:
    async def prepare(pilot: Pilot[int]) -> None:
        # The tab first, then the job, as a person moving through jobs on that tab: the views
        # size their text when filled, and a tab filled the moment it appears is not laid out
        # yet (its width is 0 then, so the text is drawn at a 40-column fallback, or not,
        # depending on timing).
        await pilot.pause()
        show_tab(pilot.app, tab)  # type: ignore[arg-type]
        await settle(pilot)
        select(pilot.app, job_id)  # type: ignore[arg-type]
        await settle(pilot)

    return prepare


def _keys(*keys: str, job_id: str | None = None) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def prepare(pilot: Pilot[int]) -> None:
        await pilot.pause()
        if job_id is not None:
            select(pilot.app, job_id)  # type: ignore[arg-type]
            await pilot.pause()
        await _press(pilot, *keys)

    return prepare


async def _cancel_two_marked(pilot: Pilot[int]) -> None:
    await pilot.pause()
    await pilot.press("space", "space")  # marks the first two rows, the cursor goes to the third
    await pilot.press("c")  # the dialog lists the marked jobs in the list's order
    await settle(pilot)


async def _low_usage(pilot: Pilot[int]) -> None:
    """The local service's limit nearly used up: 3,420 s of 3,600, 5 % left."""
    await pilot.pause()
    store = pilot.app.store  # type: ignore[attr-defined]
    usage = InstanceUsage(consumed_seconds=3420, limit_seconds=3600)
    store.pollers[SOURCE].state.usage = usage
    store.bus.publish(ChangeSet(usage=((SOURCE, usage),)))


async def _cancel_with_hidden_marks(pilot: Pilot[int]) -> None:
    await pilot.pause()
    select(pilot.app, DONE_JOB)  # type: ignore[arg-type]
    await pilot.press("space")
    select(pilot.app, FAILED_JOB)  # type: ignore[arg-type]
    await pilot.press("space")
    await pilot.press("a", "c")  # only active jobs: the two marks are hidden, never cancelled
    await settle(pilot)


def arrive(app: QJobApp, count: int) -> list[Job]:
    """New jobs, newer than every other, as a poll would bring them."""
    store = app.store
    template = sample_jobs()[0]
    jobs = [
        replace(template, id=f"new{n:017d}", created=CLOCK - timedelta(seconds=30 - n))
        for n in range(count)
    ]
    for job in jobs:
        store.pollers[SOURCE].jobs[job.id] = job
    store.bus.publish(ChangeSet(added=tuple(jobs)))
    return jobs


async def _new_above(pilot: Pilot[int]) -> None:
    """Three jobs arrive while the cursor is on the oldest: the border counts them."""
    await _press(pilot, "G")
    arrive(pilot.app, 3)  # type: ignore[arg-type]
    await settle(pilot)


async def _searched_log(pilot: Pilot[int]) -> None:
    """The Log tab full screen, searched for "Z" (every line's time ends in it)."""
    await pilot.pause()
    select(pilot.app, DONE_JOB)  # type: ignore[arg-type]
    await _press(pilot, "6", "enter")
    await _press(pilot, "slash", "Z", "enter", "n")


@dataclass(frozen=True)
class Shot:
    """One state of the dashboard worth a snapshot: reached by ``prepare`` from the start."""

    name: str
    prepare: Callable[[Pilot[int]], Awaitable[None]]
    readonly: bool = False
    about: str = ""
    variant: str = ""  # another starting state of ``make_store``
    narrow_screenshot: bool = False  # the README's picture at 80x24 shows it best


SHOTS: tuple[Shot, ...] = (
    Shot("main", _main, about="list, Overview of the queued job under the cursor, queue pane"),
    Shot("failed", _on_job(FAILED_JOB), about="Overview of a failed job: code and solution"),
    Shot("timeline", _on_job(DONE_JOB, "timeline"), about="Timeline of a finished job"),
    Shot("result", _on_job(DONE_JOB, "result"), about="Result histogram, two registers"),
    Shot("circuit", _on_job(DONE_JOB, "circuit"), about="Circuit tab without circuits"),
    Shot("random-bits", _on_job(EXTRACTOR_JOB, "bits"), about="Random bits of an extractor job"),
    Shot("filter", _keys("slash", "g", "h", "z"), about="the filter bar, typing 'ghz'"),
    Shot("confirm-cancel", _keys("c"), about="confirm cancelling the selected job"),
    Shot("confirm-cancel-2", _cancel_two_marked, about="confirm cancelling 2 marked jobs"),
    Shot(
        "confirm-cancel-hidden",
        _cancel_with_hidden_marks,
        about="marked jobs hidden by a filter are left alone, and the dialog says so",
    ),
    Shot("marks", _keys("space", "space", "space"), about="three marked jobs, counted"),
    Shot("tag-editor", _keys("t"), about="the tag editor on a job with two tags"),
    Shot(
        "tag-editor-limit",
        _keys("t", *"qubit-4", "enter", job_id=EIGHT_TAGS_JOB),
        about="adding a ninth tag is refused before anything is sent",
    ),
    Shot("rename", _keys("n"), about="the rename prompt"),
    Shot("help", _keys("question_mark"), about="every key"),
    Shot(
        "backends",
        _keys("b"),
        about="b: the backends pane instead of the details (narrow), details only (wide)",
        narrow_screenshot=True,
    ),
    Shot("readonly", _main, readonly=True, about="--readonly: no cancel, tags or rename"),
    Shot("sessions", _keys("z"), about="z: jobs grouped by session, a session's detail"),
    Shot(
        "session-job",
        _keys("z", "down"),
        about="a job of a session in the grouped view, with its Overview",
    ),
    Shot("confirm-close-session", _keys("z", "C"), about="confirm closing a session"),
    Shot("confirm-cancel-session", _keys("z", "c"), about="confirm cancelling a session"),
    Shot(
        "sessions-readonly",
        _keys("z"),
        readonly=True,
        about="--readonly: grouped, without the session actions",
    ),
    Shot("usage-warning", _low_usage, about="the status line warns: under 10 % of the limit left"),
    Shot("columns", _keys("o"), about="o: choose the list's columns, kept in config.toml"),
    Shot("copied", _keys("y"), about="y copies the job id; the notice stays above the status line"),
    Shot("palette", _keys("colon", *"sort"), about=": (or ctrl+p): every action by name"),
    Shot("log", _keys("l", job_id=DONE_JOB), about="l: the job's log, followed while it runs"),
    Shot("raw", _keys("v", job_id=DONE_JOB), about="v: the job and its metrics as sent, JSON"),
    Shot("full-view", _keys("enter", job_id=DONE_JOB), about="enter: the job full screen"),
    Shot(
        "full-view-log-search",
        _searched_log,
        about="6, enter, / Z, n: the Log tab full screen, its second match current",
    ),
    Shot("new-above", _new_above, about="three new jobs above the view: ↑ 3 new (g)"),
    Shot(
        "unreachable",
        _main,
        variant="unreachable",
        about="a service that never answered: the empty list says it cannot be reached, and why",
    ),
    Shot(
        "tag-editor-too-long",
        _keys("t", *("a" * 87), "enter"),
        about="a tag longer than 86 characters is refused, and the message says so in full",
    ),
)


app = make_app()

if __name__ == "__main__":
    app.run()
