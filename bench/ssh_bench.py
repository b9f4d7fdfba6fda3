"""One poller, many viewers: ``qjob-tui relay --ssh`` with 1 and with 20 SSH viewers.

Run as ``python bench/ssh_bench.py`` (about 10 minutes). Prints a markdown table.

A real local service; a relay over it (``--refresh 2``) with its SSH server; viewers are SSH
sessions opened with asyncssh's client (a 120x40 pty, TERM=xterm-256color), each one a dashboard
process that the relay starts. Measured over windows of 120 s (idle) and 60 s (busy):
- upstream requests per minute (as the relay counts them in ``GET /sources``), with 1 viewer
  and with 20, idle and while about 20 jobs change every 2 s (the feeder of
  ``pty_dashboard.py`` keeps ~20 short jobs queued or running);
- bytes per minute each viewer receives over SSH, idle and busy;
- memory per viewer: the resident size of the dashboard processes, and how much the relay grew;
- latency: from ``POST /jobs`` on the service to the new job's name in a viewer's output
  stream (escape sequences stripped), median of 5, for the first viewer and the slowest of 20.
  As a floor in the same run, the latency of a dashboard on the service directly
  (``--source URL``, listening to the service's own stream).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pty_dashboard import PtyDashboard, dashboard_env, feeding, visible_text  # noqa: E402
from tests.http_helpers import sampler_body  # noqa: E402
from tests.relay_process import RelayProcess  # noqa: E402
from tests.service_process import ServiceProcess, free_port  # noqa: E402

WINDOW = 60.0  # busy windows
IDLE_WINDOW = 120.0  # idle upstream requests are a handful from the relay's own clocks
MANY = 20
SAMPLES = 5


class Viewer:
    """One SSH session: its output, with the time each chunk arrived."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, bytes]] = []
        self.channel: object = None

    def keys(self, text: str) -> None:
        self.channel.write(text.encode())  # type: ignore[attr-defined]

    def bytes_between(self, start: float, end: float) -> int:
        return sum(len(c) for at, c in self.chunks if start < at <= end)

    def text_since(self, start: float) -> str:
        return visible_text(b"".join(c for at, c in self.chunks if at > start))


async def open_viewer(port: int, key_path: Path) -> tuple[object, Viewer]:
    import asyncssh

    viewer = Viewer()

    class Session(asyncssh.SSHClientSession):  # type: ignore[type-arg]
        def data_received(self, data: bytes, datatype: object) -> None:
            viewer.chunks.append((time.perf_counter(), data))

    key = asyncssh.read_private_key(str(key_path))
    conn = await asyncssh.connect(
        "127.0.0.1", port, client_keys=[key], known_hosts=None, username="bench"
    )
    viewer.channel, _ = await conn.create_session(
        Session, term_type="xterm-256color", term_size=(120, 40), encoding=None
    )
    return conn, viewer


async def painted(viewers: list[Viewer], text: str, timeout: float = 300) -> None:
    deadline = time.perf_counter() + timeout
    while not all(text in v.text_since(0) for v in viewers):
        assert time.perf_counter() < deadline, "the viewers never painted"
        await asyncio.sleep(0.2)
    await asyncio.sleep(3)  # let the first paints settle


class Upstream:
    """The requests the relay has sent upstream (its ``GET /sources`` counts them)."""

    def __init__(self, relay: str) -> None:
        self.relay = relay

    def mark(self) -> int:
        [source] = httpx.get(f"{self.relay}/sources").json()["sources"]
        return int(source["upstream_requests"])

    def count_since(self, mark: int) -> int:
        return self.mark() - mark


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(pid):
                found.append(int(entry))
    return found


async def window(
    upstream: Upstream, viewers: list[Viewer], seconds: float = WINDOW
) -> tuple[float, float]:
    """Upstream requests per minute, and mean bytes per minute per viewer, over the window."""
    offset = upstream.mark()
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    end = time.perf_counter()
    requests = upstream.count_since(offset) * 60 / (end - start)
    per_viewer = statistics.mean(v.bytes_between(start, end) for v in viewers) * 60 / (end - start)
    return requests, per_viewer


async def latency(service: ServiceProcess, viewers: list[Viewer], tag: str) -> list[float]:
    """Seconds from a submit to the job's name in every viewer's output, per viewer."""
    name = f"{tag}-{time.time_ns() % 10**6:06d}"
    async with httpx.AsyncClient(base_url=service.url) as http:
        start = time.perf_counter()
        answer = await http.post("/jobs", json=sampler_body("fake_cairo", shots=100, name=name))
        answer.raise_for_status()
    seen: dict[int, float] = {}
    deadline = start + 30
    while len(seen) < len(viewers) and time.perf_counter() < deadline:
        for i, viewer in enumerate(viewers):
            if i not in seen and name in viewer.text_since(start):
                seen[i] = viewer.chunks[-1][0] - start
        await asyncio.sleep(0.01)
    return [seen.get(i, float("nan")) for i in range(len(viewers))]


def direct_floor(service: ServiceProcess, home: Path) -> float:
    """Latency of a dashboard on the service itself (its stream, no relay, no SSH)."""
    from bench.pty_dashboard import QJOB_TUI

    env = dashboard_env(home / "direct")
    args = [*QJOB_TUI, "--source", service.root, "--refresh", "2"]
    samples = []
    with PtyDashboard(args, env) as dashboard:
        dashboard.wait_for_text("Quit", timeout=120)
        for i in range(SAMPLES):
            name = f"floor-{i}-{time.time_ns() % 10**6:06d}"
            start = time.perf_counter()
            body = sampler_body("fake_cairo", shots=100, name=name)
            httpx.post(f"{service.url}/jobs", json=body).raise_for_status()
            samples.append(dashboard.wait_for_text(name, timeout=30) - start)
    return statistics.median(samples)


async def measure(home: Path) -> dict[str, object]:
    from tests.test_e2e_ssh import write_key

    service = ServiceProcess(home / "service").start()
    key = write_key(home / "viewer")
    (home / "viewers").write_bytes(key.with_suffix(".pub").read_bytes())
    ssh_port = free_port()
    relay = RelayProcess(
        home / "relay",
        "--source",
        service.root,
        "--refresh",
        "2",
        "--ssh",
        str(ssh_port),
        "--authorized-keys",
        str(home / "viewers"),
        "--max-sessions",
        str(MANY + 1),
        "--data",
        str(home / "relay-data"),
    ).start()
    upstream = Upstream(relay.root)
    conns: list[object] = []
    result: dict[str, object] = {}
    try:
        while "host key SHA256:" not in relay.log.read_text():
            await asyncio.sleep(0.1)
        assert relay.proc is not None
        relay_before = rss_kb(relay.proc.pid)
        conn, first = await open_viewer(ssh_port, key)
        conns.append(conn)
        await painted([first], "Quit")
        result["idle_1"] = await window(upstream, [first], IDLE_WINDOW)
        with feeding(service.url):
            await asyncio.sleep(5)
            result["busy_1"] = await window(upstream, [first])
        await asyncio.sleep(10)  # the feeder's jobs finish
        viewers = [first]
        for _ in range(MANY - 1):
            conn, viewer = await open_viewer(ssh_port, key)
            conns.append(conn)
            viewers.append(viewer)
        await painted(viewers, "Quit")
        dashboards = children(relay.proc.pid)
        result["rss_per_viewer"] = statistics.mean(rss_kb(p) for p in dashboards)
        result["dashboards"] = len(dashboards)
        result["relay_growth"] = (rss_kb(relay.proc.pid) - relay_before) / MANY
        result["idle_many"] = await window(upstream, viewers, IDLE_WINDOW)
        with feeding(service.url) as feeder:
            await asyncio.sleep(5)
            start = time.perf_counter()
            result["busy_many"] = await window(upstream, viewers)
            changes = [n for at, n in feeder.changes if at > start]
            result["changes"] = statistics.mean(changes) if changes else 0.0
        await asyncio.sleep(10)
        for viewer in viewers:  # the newest job on top, and the list scrolled to it
            viewer.keys("g")
        await asyncio.sleep(3)
        samples = [await latency(service, viewers, f"lat{i}") for i in range(SAMPLES)]
        result["latency_first"] = statistics.median(s[0] for s in samples)
        result["latency_slowest"] = statistics.median(max(s) for s in samples)
    finally:
        for conn in conns:
            conn.close()  # type: ignore[attr-defined]
        relay.stop()
    try:
        result["floor"] = direct_floor(service, home)
    finally:
        service.stop()
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(measure(Path(tmp)))
    idle_1, busy_1 = r["idle_1"], r["busy_1"]
    idle_n, busy_n = r["idle_many"], r["busy_many"]

    def ratio(many: float, one: float) -> str:
        return f"{many / one:.2f}x" if one else "-"

    print("### SSH relay: one poller, many viewers")
    print()
    print(
        f"A relay (`--refresh 2`) over the local service; viewers are SSH sessions (120x40), "
        f"each its own dashboard process. Windows of {IDLE_WINDOW:.0f} s idle, "
        f"{WINDOW:.0f} s busy; busy: about "
        f"{r['changes']:.0f} jobs change per 2 s."
    )
    print()
    print("| | 1 viewer | 20 viewers | 20 / 1 |")
    print("|---|---:|---:|---:|")
    print(
        f"| upstream requests/min, idle | {idle_1[0]:.1f} | {idle_n[0]:.1f} "
        f"| {ratio(idle_n[0], idle_1[0])} |"
    )
    print(
        f"| upstream requests/min, busy | {busy_1[0]:.1f} | {busy_n[0]:.1f} "
        f"| {ratio(busy_n[0], busy_1[0])} |"
    )
    print(
        f"| bytes/min per viewer, idle | {idle_1[1] / 1024:.1f} KB | {idle_n[1] / 1024:.1f} KB "
        f"| {ratio(idle_n[1], idle_1[1])} |"
    )
    print(
        f"| bytes/min per viewer, busy | {busy_1[1] / 1024:.1f} KB | {busy_n[1] / 1024:.1f} KB "
        f"| {ratio(busy_n[1], busy_1[1])} |"
    )
    print()
    print(
        "Upstream requests do not grow with viewers: idle, the relay asks only for the backends "
        "and a reconcile poll; busy, it also refreshes queued jobs' places on its own 30 s "
        'clock. Idle bytes come from the "N min ago" labels of recent jobs.'
    )
    print()
    print(
        f"Memory per viewer: {r['rss_per_viewer'] / 1024:.0f} MB resident per dashboard process "
        f"({r['dashboards']} running); the relay grew by "
        f"{r['relay_growth'] / 1024:.1f} MB per viewer."
    )
    print()
    print(
        f"Latency from a submit on the service to the job on a viewer's screen (median of "
        f"{SAMPLES}): {r['latency_first'] * 1000:.0f} ms for the first viewer, "
        f"{r['latency_slowest'] * 1000:.0f} ms for the slowest of 20; floor in the same run, a "
        f"dashboard on the service's own stream (no relay, no SSH): {r['floor'] * 1000:.0f} ms "
        f"(the relay and SSH add {r['latency_first'] / r['floor']:.1f}x). A dashboard that "
        "polls every 2 s instead sees a change 1 s later on average."
    )


if __name__ == "__main__":
    main()
