"""A hung source (SIGSTOP'd: its socket still accepts, nothing answers) reads as not answering
within a bound that follows from the poll interval and the request timeout: a dashboard of its
own, a relay, and the relay's viewers (its REST view, its stream, a dashboard through it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.api.relay import relay_sources
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.status.status_line import status_text
from qjob_tui.wire.rest import KEEPALIVE
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

TIMEOUT = 2.0  # seconds a request waits for an answer (the relay's --timeout)
REFRESH = 1.0  # the poll interval
SLOW = 3600.0
VIEWER = "viewer-token-0123456789"
# The longest a hung source may still read as answering: the quiet before the next sign of
# life is due (a poll, or a keep-alive on a live stream), then one request timeout. Waits get
# three times that, for a busy machine; the old rule took longer still: five tries of each
# request and their backoffs (at least 13 s here), or a fixed 45 s of silence on a stream.
POLLED = 3 * (REFRESH + TIMEOUT)
STREAMED = 3 * (KEEPALIVE + TIMEOUT)
RECOVERED = 60.0  # after SIGCONT: the tries in flight end, the stream opens again


@contextlib.contextmanager
def hung(service: ServiceProcess) -> Iterator[None]:
    """The service stopped (SIGSTOP) for the block, and continued whatever happens in it."""
    assert service.proc is not None
    pid = service.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.fixture
def stoppable(tmp_path: Path) -> Iterator[ServiceProcess]:
    """A service of this test's own: it is stopped and continued."""
    service = ServiceProcess(tmp_path / "service").start()
    try:
        yield service
    finally:
        assert service.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(service.proc.pid, signal.SIGCONT)
        service.stop()


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout:g} s: {what}"
        await asyncio.sleep(0.05)


async def test_a_polled_source_that_hangs_reads_as_not_answering(
    stoppable: ServiceProcess, tmp_path: Path
) -> None:
    source = Source.local(stoppable.url, name="hangs")
    config = StoreConfig(
        interval=REFRESH, calm_interval=REFRESH, use_stream=False, cache_dir=tmp_path / "c"
    )
    store = JobStore([JobClient(source, read_timeout=TIMEOUT)], config)
    await store.start()
    try:
        poller = store.pollers["hangs"]
        await until(lambda: poller.health.ok, RECOVERED, "first answer")
        with hung(stoppable):
            await until(lambda: poller.health.stale, POLLED, "stale")
            health = poller.health
            assert not health.ok
            assert f"not answering: no answer within {TIMEOUT:g} s" in (health.last_error or "")
        await until(lambda: poller.health.ok, RECOVERED, "ok again after SIGCONT")
    finally:
        await store.stop()


def _relayed(relay: RelayProcess) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {VIEWER}"}
    [source] = httpx.get(f"{relay.root}/sources", headers=headers).json()["sources"]
    return dict(source)


async def test_a_relay_shows_its_viewers_a_hung_upstream(
    stoppable: ServiceProcess, tmp_path: Path
) -> None:
    relay = RelayProcess(
        tmp_path / "relay",
        *("--source", stoppable.root, "--refresh", f"{REFRESH:g}", "--timeout", f"{TIMEOUT:g}"),
        "--no-web",
        env={"QJOB_TUI_RELAY_TOKEN": VIEWER},
    ).start()
    store = None
    try:
        # A viewer as the dashboard through --relay is: a store on the relay's sources.
        sources = relay_sources(relay.root, VIEWER)
        config = StoreConfig(
            interval=SLOW, calm_interval=SLOW, streaming_interval=SLOW, cache_dir=tmp_path / "c"
        )
        store = JobStore([JobClient(s) for s in sources], config)
        await store.start()
        viewer = store.pollers[sources[0].name]
        await until(lambda: bool(_relayed(relay)["streaming"]), RECOVERED, "upstream stream")
        await until(lambda: viewer.health.upstream == "live", RECOVERED, "viewer told live")
        with hung(stoppable):
            # The relay's REST view, and its stream to the viewer, say so within the bound.
            await until(lambda: bool(_relayed(relay)["stale"]), STREAMED, "relay says stale")
            shown = _relayed(relay)
            assert not shown["ok"] and not shown["streaming"]
            assert "not answering" in str(shown["last_error"])
            told = lambda: (viewer.health.upstream or "").startswith("stale")  # noqa: E731
            await until(told, STREAMED, "viewer told stale")
            assert viewer.health.ok  # the relay itself answers: only its upstream is silent
            # What the dashboard through --relay shows of it on its status line.
            line = status_text([viewer.health], Counter(), paused=False, interval=REFRESH)
            assert f"{viewer.name} ok · upstream stale: " in line.plain
        await until(lambda: bool(_relayed(relay)["ok"]), RECOVERED, "relay ok after SIGCONT")
        await until(lambda: viewer.health.upstream == "live", RECOVERED, "viewer told live")
    finally:
        if store is not None:
            await store.stop()
        relay.stop()


def test_a_source_says_its_pace_before_its_first_round_ends() -> None:
    """A first round at a hung source can take many seconds: until it ends, the health says the
    pace the poller keeps, not 0 (a relay told its viewers "interval": 0.0 meanwhile)."""
    source = Source.local("http://127.0.0.1:9/api/v1", None, name="hung")
    store = JobStore([JobClient(source)], StoreConfig(interval=REFRESH, use_cache=False))
    [health] = store.health
    assert health.interval == REFRESH
