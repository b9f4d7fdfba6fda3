"""End to end: a dashboard ends with its terminal, whatever it is doing when the terminal goes.

Ten dashboards with 10,000 cached jobs each, in tmux, lose their terminal (``kill-session``, as
when an SSH connection drops) at start-up, right at their first paint, with a dialog open, and
in the middle of a big frame; every one of them must be gone a few seconds later.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service_process import ServiceProcess, fill_finished
from tests.test_e2e_tmux import Tmux

CACHED = 10_000
NEWEST = f"old{CACHED - 1:017d}"  # fill_finished's newest job, the top row of the list
MARK = "QJOB_HANGUP_TEST"
GONE_WITHIN = 20.0  # a bound on the wait, generous for a busy machine; the watchdog needs ~3 s


def processes_marked(mark: str) -> list[int]:
    """Pids of live processes whose environment holds ``MARK=mark`` (the dashboard and any
    child it started)."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def big_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, Path]]:
    """A service with 10,000 finished jobs, and a dashboard cache that holds them all."""
    from qjob_tui.api import JobClient, Source
    from qjob_tui.store.cache import JobCache

    data = tmp_path_factory.mktemp("big-service")
    fill_finished(data, CACHED)
    service = ServiceProcess(data, "--latency-scale", "0").start()

    async def listed() -> tuple[str, list]:  # type: ignore[type-arg]
        async with JobClient(Source.local(service.root, name=service.root)) as client:
            return await client.identity(), [job async for job in client.iter_jobs()]

    cache_home = tmp_path_factory.mktemp("big-cache")
    identity, jobs = asyncio.run(listed())
    # Keyed by who the server is, as the dashboard's store opens it (keyed by the URL alone,
    # it was never read and the dashboards started cold).
    with JobCache.for_source(service.root, cache_home / "qjob-tui", identity=identity) as cache:
        assert cache.save(jobs, [], {"history": "complete"})
        assert len(cache) == CACHED
    yield service, cache_home
    service.stop()


class Dashboard:
    """``qjob-tui --source URL`` in its own tmux session, with its own copy of the cache."""

    def __init__(self, service: ServiceProcess, cache: Path, home: Path, name: str, shell: bool):
        self.name = name
        self.tmux = Tmux(name)
        shutil.copytree(cache, home / "cache")
        env = {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_DATA_HOME": str(home / "data"),
            "TERM": "xterm-256color",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            MARK: name,
        }
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        run = f"env -i {exports} {sys.executable} -m qjob_tui --source {service.root}"
        # Under a shell that waits for it (as test_e2e_tmux does), or as the session's leader
        # (as under sshd): the kernel's hang-up reaches the two differently.
        self.command = f"{run}; echo $? > {home / 'exit-code'}" if shell else f"exec {run}"

    def start(self) -> None:
        self.tmux.run("kill-session", "-t", self.name)
        self.tmux.run("new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", self.command)

    def hang_up(self) -> None:
        self.tmux.run("kill-session", "-t", self.name)


def wait_until_started(mark: str) -> None:
    deadline = time.monotonic() + 60
    while not processes_marked(mark):
        assert time.monotonic() < deadline, "the dashboard never started"
        time.sleep(0.01)


# (moment, under a shell): ten dashboards, most of them hung up at their first paint.
CASES = [
    ("first-paint", False),
    ("first-paint", True),
    ("first-paint", False),
    ("first-paint", True),
    ("first-paint", False),
    ("first-paint", True),
    ("start-up", False),
    ("dialog", True),
    ("big-frame", False),
    ("big-frame", True),
]


def bring_to(dashboard: Dashboard, moment: str) -> None:
    """Drive the dashboard to the moment at which its terminal goes away."""
    tmux = dashboard.tmux
    if moment == "start-up":
        wait_until_started(dashboard.name)
        return
    deadline = time.monotonic() + 90
    while NEWEST not in tmux.screen():  # no sleep: hang up at the very first paint
        assert time.monotonic() < deadline, tmux.screen()
    if moment == "dialog":
        tmux.keys("t")
        tmux.wait_for(lambda s: f"Tags of {NEWEST}" in s)
    elif moment == "big-frame":
        tmux.run("resize-window", "-t", dashboard.name, "-x", "200", "-y", "60")


def test_ten_dashboards_end_with_their_terminal(
    big_service: tuple[ServiceProcess, Path], tmp_path: Path
) -> None:
    service, cache = big_service
    dashboards = []
    for i, (moment, shell) in enumerate(CASES):
        home = tmp_path / f"d{i}"
        home.mkdir()
        name = f"qjob-hangup-{os.getpid()}-{i}"
        dashboards.append((Dashboard(service, cache, home, name, shell), moment))
    survivors: dict[str, list[int]] = {}
    try:
        # Two at a time: the machine is busy, as when colleagues log in together.
        for first, second in zip(dashboards[::2], dashboards[1::2], strict=True):
            for dashboard, _ in (first, second):
                dashboard.start()
            for dashboard, moment in (first, second):
                bring_to(dashboard, moment)
                dashboard.hang_up()
            for dashboard, moment in (first, second):
                deadline = time.monotonic() + GONE_WITHIN
                while processes_marked(dashboard.name) and time.monotonic() < deadline:
                    time.sleep(0.1)
                left = processes_marked(dashboard.name)
                if left:
                    survivors[f"{dashboard.name} ({moment})"] = left
        assert not survivors, f"still alive after their terminal went away: {survivors}"
    finally:
        for dashboard, _ in dashboards:
            dashboard.hang_up()
            for pid in processes_marked(dashboard.name):
                os.kill(pid, 9)
