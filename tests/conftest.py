"""Shared fixtures: a real local service on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests import leftovers
from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service shared by the tests of one module; devices are made fast."""
    data: Path = tmp_path_factory.mktemp("service")
    proc = ServiceProcess(data, "--latency-scale", "0.2").start()
    yield proc
    proc.stop()


# --- app tests: a blocking call on the event loop fails the test -------------------------------

SLOW_CALLBACK_SECONDS = 0.1  # asyncio's debug mode logs every callback over this
# A callback over this, by both clocks, fails the test. Textual's own work in one callback (a
# frame of a 120x40 screen with a modal, the palette's first search) takes up to 0.26 s of CPU on
# this project's 2-core machines in debug mode, so a 0.1 s failure line failed tests for
# Textual's compositor; the blocking calls this guards against (a 100,000-shot result decoded on
# the loop: 0.74 s) are well over it.
FAIL_CALLBACK_SECONDS = 0.5


class _GcPauses:
    """The time the garbage collector has spent in this thread, by both clocks.

    A full collection scans every object of the test process, which holds what hundreds of
    tests imported and left behind: 0.4 s of CPU each on this project's 2-core machines. One
    can fall into any callback; it is the test process's size, not a blocking call of the app.
    """

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._thread = threading.main_thread().ident  # where pytest runs the apps' loops
        self._started: tuple[float, float] | None = None

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self._thread:
            return
        if phase == "start":
            self._started = (time.monotonic(), time.thread_time())
        elif self._started is not None:
            self.wall += time.monotonic() - self._started[0]
            self.cpu += time.thread_time() - self._started[1]
            self._started = None


_GC_PAUSES = _GcPauses()
gc.callbacks.append(_GC_PAUSES)


class _SlowCallbacks:
    """Callbacks that held an app's event loop over the threshold, in CPU time.

    asyncio's debug mode (on, with ``slow_callback_duration`` at the threshold) reports every
    callback over it by the wall clock, which on a machine shared by many test runs also counts
    the time the process was not scheduled at all. So each callback's CPU time is measured too,
    and a callback fails the test only when it held the loop over the threshold by both clocks:
    decoding, drawing or writing on the loop does; waiting for a core does not. The garbage
    collector's pauses inside the callback are not counted (see ``_GcPauses``).
    """

    def __init__(self) -> None:
        self.reports: list[str] = []
        self.armed = False  # from the first frame on: Textual's own start-up is not the app's
        self._run = asyncio.events.Handle._run

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original, reports, pauses = self._run, self.reports, _GC_PAUSES

        def timed_run(handle: asyncio.events.Handle) -> None:
            if not self.armed:
                original(handle)
                return
            wall, cpu = time.monotonic(), time.thread_time()
            gc_wall, gc_cpu = pauses.wall, pauses.cpu
            try:
                original(handle)
            finally:
                cpu = time.thread_time() - cpu - (pauses.cpu - gc_cpu)
                wall = time.monotonic() - wall - (pauses.wall - gc_wall)
                if cpu > FAIL_CALLBACK_SECONDS and wall > FAIL_CALLBACK_SECONDS:
                    reports.append(f"{_name(handle)} took {wall:.3f} s ({cpu:.3f} s of CPU)")

        monkeypatch.setattr(asyncio.events.Handle, "_run", timed_run)


def _name(handle: asyncio.events.Handle) -> str:
    """The task a handle steps (with where it stands), or the callback it runs."""
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        return f"task {task.get_name()!r} {task.get_coro()!r}"
    return repr(handle)


@pytest.fixture(autouse=True)
def slow_callbacks_fail(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every ``App.run_test`` runs its loop in asyncio debug mode with a 100 ms threshold, and a
    callback over ``FAIL_CALLBACK_SECONDS`` (a blocking call on the event loop) fails the test
    that ran the app."""
    from textual.app import App

    slow = _SlowCallbacks()
    original = App.run_test

    @contextlib.asynccontextmanager
    async def run_test(self: App, *args: object, **kwargs: object) -> AsyncIterator[object]:
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
        # Debug mode also records where every coroutine was created, which Textual, making
        # one per message pump, pays for in CPU; the slow-callback check does not need it.
        loop.call_soon(sys.set_coroutine_origin_tracking_depth, 0)
        slow.install(monkeypatch)
        async with original(self, *args, **kwargs) as pilot:  # type: ignore[arg-type]
            await pilot.pause()
            slow.armed = True
            try:
                yield pilot
            finally:
                slow.armed = False

    monkeypatch.setattr(App, "run_test", run_test)
    yield
    allowed = request.node.get_closest_marker("slow_callbacks_allowed")
    if slow.reports and allowed is None:
        shown = "\n".join(slow.reports[:5])
        pytest.fail(f"a callback blocked the event loop over {FAIL_CALLBACK_SECONDS} s:\n{shown}")


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (Textual, Qiskit, Hypothesis, Dask...) lives as long as the
    process: out of the collector's way, so a full collection scans only what tests made."""
    gc.collect()
    gc.freeze()


# --- no process left behind ----------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    leftovers.mark_this_run()


@pytest.hookimpl(trylast=True)  # after pytest-xdist has stopped its workers
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a process it started still lives (checked once, by the process that
    ran or distributed the tests: a worker of pytest-xdist would see the other's)."""
    if hasattr(session.config, "workerinput") or os.name != "posix" or not Path("/proc").is_dir():
        return
    alive = leftovers.left_behind(os.environ[leftovers.MARK])
    if not alive:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"  pid {pid}: {command[:200]}" for pid, command in alive]
    message = "processes left behind by the tests (now killed):\n" + "\n".join(lines)
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message, file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
