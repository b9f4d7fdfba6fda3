"""End to end: the real ``qjob-tui demo`` in tmux, driven by keys and read off the screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest


def ensure_tmux() -> str:
    """tmux, installed with apt-get when missing (CI machines start without it)."""
    found = shutil.which("tmux")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "tmux"], check=False, timeout=600)
    found = shutil.which("tmux")
    if not found:
        pytest.skip("tmux is not installed and could not be installed")
    return found


class Tmux:
    def __init__(self, name: str) -> None:
        self.tmux = ensure_tmux()
        self.name = name

    def run(self, *args: str) -> str:
        done = subprocess.run([self.tmux, *args], capture_output=True, text=True, timeout=30)
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"screen never matched; last screen:\n{screen}")


def wait_cancelled(http: httpx.Client, name: str, timeout: float = 30) -> str:
    """The id of the job called ``name`` once the server has it cancelled."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = http.get("/jobs", params={"tags": "long"}).json()["jobs"]
        done = [j["id"] for j in jobs if j["name"] == name and j["status"] == "Cancelled"]
        if done:
            return str(done[0])
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)


def row_of(screen: str, job_id: str, status: str) -> bool:
    """True if the job's row (the line with its id) shows ``status``."""
    return any(job_id[:12] in line and status in line.lower() for line in screen.splitlines())


def filter_box_gone(screen: str) -> bool:
    """The filter box closed, which enter does as it gives the list the focus back: keys sent
    after this reach the list, not the box."""
    return not any(line.startswith("▊") for line in screen.splitlines())


def start_demo(tmp_path: Path, name: str, config: str = "", **extra_env: str) -> tuple[Tmux, Path]:
    """``qjob-tui demo`` in a fresh 120x40 tmux session with an empty environment (and this
    ``config.toml``, if given)."""
    tmux = Tmux(name)
    if config:
        (tmp_path / "config" / "qjob-tui").mkdir(parents=True, exist_ok=True)
        (tmp_path / "config" / "qjob-tui" / "config.toml").write_text(config)
    exit_file = tmp_path / "exit-code"
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **extra_env,
    }
    exports = " ".join(f"{k}={v!s}" for k, v in env.items())
    command = f"env -i {exports} {sys.executable} -m qjob_tui demo; echo $? > {exit_file}"
    tmux.run("kill-session", "-t", name)
    tmux.run("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
    return tmux, exit_file


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    name = f"qjob-e2e-{os.getpid()}"
    tmux, exit_file = start_demo(tmp_path, name)
    try:
        yield tmux, exit_file
    finally:
        tmux.run("kill-session", "-t", name)


def test_demo_cancel_resize_and_quit(demo: tuple[Tmux, Path]) -> None:
    tmux, exit_file = demo
    screen = tmux.wait_for(lambda s: "long QFT" in s and "local ok" in s, timeout=90)
    url = re.search(r"http://127\.0\.0\.1:\d+/api/v1", screen)
    assert url is not None, screen
    # Find the long job, which queues for a minute on the slow device, and cancel it.
    tmux.keys("/")
    tmux.wait_for(lambda s: "filter: text, re:regex" in s)  # the filter box has the focus
    tmux.keys("-l", "long QFT")
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "filter: long QFT" in s and filter_box_gone(s))
    tmux.keys("c")
    tmux.wait_for(lambda s: "Cancel this job?" in s)
    tmux.keys("y")
    # The server is the judge of what was cancelled: wait for it to say so, for that job...
    with httpx.Client(base_url=url.group(0)) as http:
        job_id = wait_cancelled(http, "long QFT")
    # ... then for that job's own row (its id and its status on one line), not the word
    # anywhere: the status line's count of the demo's other cancelled job also says it.
    tmux.wait_for(lambda s: row_of(s, job_id, "cancelled"), timeout=30)
    # Narrow terminal: still drawn, nothing wider than the window.
    tmux.run("resize-window", "-t", tmux.name, "-x", "80", "-y", "24")
    screen = tmux.wait_for(
        lambda s: "Quit" in s and max(len(line) for line in s.splitlines()) <= 80
    )
    # ... and stacked: the detail tabs stand below the list, not beside its header.
    tmux.wait_for(
        lambda s: (
            any("Overview" in line for line in s.splitlines())
            and not any("Overview" in line and "status" in line for line in s.splitlines())
        )
    )
    tmux.keys("Escape")
    time.sleep(0.5)  # else the terminal reads escape then q as alt+q
    tmux.keys("q")
    deadline = time.monotonic() + 30
    while not exit_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert exit_file.exists(), tmux.screen()
    assert exit_file.read_text().strip() == "0"


def test_terminal_going_away_ends_the_dashboard_and_its_service(demo: tuple[Tmux, Path]) -> None:
    tmux, _ = demo
    screen = tmux.wait_for(lambda s: "local ok" in s, timeout=90)
    url = re.search(r"http://127\.0\.0\.1:\d+/api/v1", screen)
    assert url is not None, screen
    assert httpx.get(f"{url.group(0)}/backends").status_code == 200
    tmux.run("kill-session", "-t", tmux.name)  # the terminal hangs up, as when SSH drops
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url.group(0)}/backends", timeout=1)
        except httpx.TransportError:
            return  # the dashboard exited and stopped its embedded service
        time.sleep(0.3)
    raise AssertionError("the embedded service outlived its dashboard")


SGR = re.compile(r"\x1b\[([0-9;]*)m")
GREY_256 = {0, 7, 8, 15, 16, 59, 102, 145, 188, 231, *range(232, 256)}
STATUS_WORDS = ("done", "queued", "running", "error", "cancelled")
DONE_ROW = re.compile(r"\bdone\s+d[a-z0-9]{19}\b")  # the status, then the job's id


def colours_used(screen: str) -> set[str]:
    """The colour parameters of the SGR sequences on a ``capture-pane -e`` screen."""
    used: set[str] = set()
    for match in SGR.finditer(screen):
        params = match.group(1).split(";")
        i = 0
        while i < len(params):
            p = params[i]
            if p in ("38", "48") and i + 1 < len(params):
                width = 3 if params[i + 1] == "5" else 5
                used.add(";".join(params[i : i + width]))
                i += width
                continue
            code = int(p) if p.isdigit() else 0
            if (30 <= code <= 47 or 90 <= code <= 107) and code not in (38, 39):
                used.add(p)
            i += 1
    return used


def is_grey(colour: str) -> bool:
    parts = colour.split(";")
    if parts[0] in ("38", "48") and parts[1] == "5":
        return int(parts[2]) in GREY_256
    if parts[0] in ("38", "48") and parts[1] == "2":
        return parts[2] == parts[3] == parts[4]
    return int(parts[0]) in (30, 37, 40, 47, 90, 97, 100, 107)


@pytest.mark.parametrize(
    ("case", "env"),
    [("no-color", {"NO_COLOR": "1"}), ("16-colours", {"TERM": "xterm"})],
)
def test_terminal_colour_modes(tmp_path: Path, case: str, env: dict[str, str]) -> None:
    """NO_COLOR paints in greys only, TERM=xterm in the 16 ANSI colours; statuses read as words."""
    name = f"qjob-e2e-{case}-{os.getpid()}"
    tmux, _ = start_demo(tmp_path, name, **env)
    try:
        # A job's own row, done: "done" alone could be the status line's count. Any job's: the
        # demo's first (GHZ 3) leaves the 16 rows in view as new jobs come, on a busy machine
        # before it is done.
        plain = tmux.wait_for(lambda s: DONE_ROW.search(s) is not None, timeout=90)
        assert sum(word in plain for word in STATUS_WORDS) >= 2, plain
        used = colours_used(tmux.run("capture-pane", "-e", "-p", "-t", name))
        assert used, "no colour at all: the capture did not keep the escape sequences"
        if case == "no-color":
            assert all(is_grey(c) for c in used), sorted(used)
        else:
            assert all(";" not in c for c in used), sorted(used)  # no 256 or RGB colours
            assert any(not is_grey(c) for c in used), sorted(used)  # but colour it has
    finally:
        tmux.run("kill-session", "-t", name)


def test_circuit_tab_of_a_finished_job_shows_the_circuit(demo: tuple[Tmux, Path]) -> None:
    """The done GHZ job of the demo, Tab, Right three times: the circuit is drawn."""
    tmux, _ = demo
    # Not "GHZ 3" on screen first: the demo's first job leaves the rows in view as new jobs come.
    tmux.wait_for(lambda s: "local ok" in s, timeout=90)
    tmux.keys("/")
    tmux.wait_for(lambda s: "filter: text, re:regex" in s)
    tmux.keys("-l", "GHZ 3")
    tmux.keys("Enter")
    # Tab and Right go to the list only once the filter box has closed.
    tmux.wait_for(lambda s: "filter: GHZ 3" in s and "done" in s and filter_box_gone(s), timeout=60)
    tmux.keys("Tab")
    for _ in range(3):
        tmux.keys("Right")
    screen = tmux.wait_for(lambda s: "┤ H ├" in s or "could not" in s.lower(), timeout=60)
    assert "┤ H ├" in screen and "q_2" in screen, screen
    assert "Loading the circuits" not in screen


LOG_LINE = re.compile(r"T\d\d:\d\d:\d\d\S* (running|cancelled|completed)")


def _long_qft_row(line: str) -> bool:
    """A job list row of the demo's long QFT on fake_cairo, its id whole."""
    return (
        "long QFT" in line and "fake_cairo" in line and bool(re.search(r"\bd[0-9a-z]{19}\b", line))
    )


def test_daily_use_palette_log_marks_and_hook(tmp_path: Path) -> None:
    """ctrl+p opens the palette; the Log tab follows a running job to its end; the on_final
    hook runs once for it; marks are counted in the list's border and cleared with u."""
    hook_log = tmp_path / "hook.log"
    config = f'on_final = \'echo "$QJOB_ID $QJOB_STATUS" >> "{hook_log}"\'\n'
    name = f"qjob-e2e-daily-{os.getpid()}"
    tmux, exit_file = start_demo(tmp_path, name, config=config)
    try:
        tmux.wait_for(lambda s: "long QFT" in s and "local ok" in s, timeout=90)
        # ctrl+p: the palette opens (it did not when ":" was bound alone), and takes the typing.
        tmux.keys("C-p")
        tmux.wait_for(lambda s: "Search for commands" in s)
        tmux.keys("-l", "unmark")
        tmux.wait_for(lambda s: "Unmark all jobs" in s)
        tmux.keys("Escape")
        tmux.wait_for(lambda s: "Search for commands" not in s and "Unmark all" not in s)
        # The Log tab of the long job, followed from running to its end.
        tmux.keys("/")
        tmux.wait_for(lambda s: "filter: text, re:regex" in s)
        tmux.keys("-l", "long QFT")
        tmux.keys("Enter")
        tmux.wait_for(lambda s: "filter: long QFT" in s and filter_box_gone(s))
        screen = tmux.wait_for(lambda s: any(map(_long_qft_row, s.splitlines())))
        row = next(line for line in screen.splitlines() if _long_qft_row(line))
        job_id = re.search(r"\b(d[0-9a-z]{19})\b", row)
        assert job_id is not None, screen
        # The demo submits more "long QFT" jobs, and a cursor on the first row follows new
        # jobs: narrow the list to this one job so that the Log tab stays on it.
        tmux.keys("Escape")
        tmux.wait_for(lambda s: "filter: long QFT" not in s)
        tmux.keys("/")
        tmux.wait_for(lambda s: "filter: text, re:regex" in s)
        tmux.keys("-l", job_id.group(1))
        tmux.keys("Enter")
        tmux.wait_for(lambda s: f"filter: {job_id.group(1)}" in s and filter_box_gone(s))
        tmux.keys("l")
        tmux.wait_for(lambda s: any(m.group(1) == "running" for m in LOG_LINE.finditer(s)), 150)
        tmux.keys("c")
        tmux.wait_for(lambda s: "Cancel this job?" in s)
        tmux.keys("y")
        tmux.wait_for(lambda s: any(m.group(1) == "cancelled" for m in LOG_LINE.finditer(s)), 60)
        deadline = time.monotonic() + 30
        while not hook_log.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert hook_log.exists(), tmux.screen()
        # Marks: counted in the border, cleared with u.
        tmux.keys("Escape")
        tmux.wait_for(lambda s: f"filter: {job_id.group(1)}" not in s)
        tmux.keys("Space")
        tmux.wait_for(lambda s: "1 marked" in s)
        tmux.keys("Space")
        tmux.wait_for(lambda s: "2 marked" in s)
        tmux.keys("u")
        tmux.wait_for(lambda s: "marked" not in s)
        lines = hook_log.read_text().splitlines()
        assert lines.count(f"{job_id.group(1)} CANCELLED") == 1, lines
        assert len(lines) == len(set(lines)), lines  # once per job
        time.sleep(0.5)  # else the terminal reads escape then q as alt+q
        tmux.keys("q")
        deadline = time.monotonic() + 30
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.read_text().strip() == "0"
    finally:
        tmux.run("kill-session", "-t", name)
