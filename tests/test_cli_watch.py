"""``qjob-tui ls --watch``: the list, then only real changes at the server's time; ``--json``;
a dead source is an error."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from dateutil import tz

from tests.child_signals import default_sigint
from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess, free_port

OLD_JOBS = 30


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service with ``OLD_JOBS`` finished jobs: more than a watch's ``--limit`` shows."""
    proc = ServiceProcess(tmp_path_factory.mktemp("watch"), "--latency-scale", "0").start()
    with httpx.Client(base_url=proc.url) as http:
        ids = [submit(http) for _ in range(OLD_JOBS)]
        for job_id in ids:
            wait_status(http, job_id)
    yield proc
    proc.stop()


class Watcher:
    """``ls --watch`` in a process of its own, its lines read as they come."""

    def __init__(self, home: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qjob_tui", "ls", "--watch", "--refresh", "0.3", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=default_sigint,  # stopped with SIGINT, however the suite was started
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = 60) -> str:
        return self.lines.get(timeout=timeout)

    def until(self, wanted: str, timeout: float = 60) -> list[str]:
        """Every line up to and including the first that contains ``wanted``."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while not seen or wanted not in seen[-1]:
            seen.append(self.next_line(max(deadline - time.monotonic(), 0.1)))
        return seen

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def _clock(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(tz.tzlocal()).strftime("%H:%M:%S")


@pytest.mark.parametrize("warm", [False, True])
def test_watch_prints_the_list_then_only_real_changes(
    busy: ServiceProcess, tmp_path: Path, warm: bool
) -> None:
    if warm:  # a first watch fills the cache; the second starts from it
        first = Watcher(tmp_path, "--source", busy.root, "--limit", "5")
        try:
            first.next_line()
        finally:
            first.stop()
    watcher = Watcher(tmp_path, "--source", busy.root, "--limit", "5")
    try:
        table = [watcher.next_line() for _ in range(6)]
        assert table[0].split()[:2] == ["ID", "STATUS"]
        with httpx.Client(base_url=busy.url) as http:
            job_id = submit(http)
            done = wait_status(http, job_id)
            metrics = http.get(f"/jobs/{job_id}/metrics").json()
        lines = watcher.until(f"{job_id}  ✔ DONE")
        # Nothing but the new job's lines: no old job is "new", whatever the cache held.
        assert all(job_id in line for line in lines), lines
        new = next(line for line in lines if " new " in line)
        assert new.split()[0] == _clock(done["created"])
        # A job first seen already done has one line, at its creation; otherwise its last
        # line is the change to DONE, at the moment the server says it finished.
        if lines[-1] is not new:
            assert " changed " in lines[-1]
            assert lines[-1].split()[0] == _clock(metrics["timestamps"]["finished"])
    finally:
        watcher.stop()


def test_watch_json_is_one_object_per_line(busy: ServiceProcess, tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, "--source", busy.root, "--limit", "3", "--json")
    try:
        listed = [json.loads(watcher.next_line()) for _ in range(3)]
        assert [item["event"] for item in listed] == ["listed"] * 3
        with httpx.Client(base_url=busy.url) as http:
            job_id = submit(http)
            done = wait_status(http, job_id)
        events = []
        while not events or events[-1]["job"]["status"] != "DONE":
            events.append(json.loads(watcher.next_line()))
        assert {event["job"]["id"] for event in events} == {job_id}
        assert events[0]["event"] == "new"
        assert datetime.fromisoformat(events[0]["at"]) == datetime.fromisoformat(done["created"])
    finally:
        watcher.stop()


def test_watch_of_a_dead_source_is_an_error(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "qjob_tui", "ls", "--watch", "--source", dead],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "unreachable" in done.stderr and "Traceback" not in done.stderr
