"""One poller, many browser viewers: ``qjob-tui relay`` serving its dashboard at ``/``.

Run as ``python bench/web_bench.py`` (about 6 minutes). Prints a markdown table, and saves a
screenshot of the page (``screenshots/web.png``, Chromium through Playwright) when Debian's
chromium-headless-shell is installed.

A real local service; a relay over it (``--refresh 2``); viewers are browser sessions at the
websocket's level (textual-serve's protocol, 120x40, frames counted as they arrive), each one a
dashboard process under Textual's web driver that the relay starts. Measured over windows of
60 s, idle and while about 20 jobs change every 2 s (the feeder of ``pty_dashboard.py``):
- upstream requests per minute (as the relay counts them in ``GET /sources``), with 1 viewer and
  with 10;
- bytes per minute each viewer receives over its websocket;
- memory per viewer: the resident size of the dashboard processes, and how much the relay grew;
- the time from opening a websocket to the dashboard's footer on its screen.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pty_dashboard import feeding  # noqa: E402
from bench.ssh_bench import Upstream, children, rss_kb  # noqa: E402
from tests.http_helpers import sampler_body  # noqa: E402
from tests.relay_process import RelayProcess  # noqa: E402
from tests.service_process import ServiceProcess  # noqa: E402
from tests.web_frames import WebDashboard, footer  # noqa: E402

WINDOW = 60.0
MANY = 10
SCREENSHOT = ROOT / "screenshots" / "web.png"


class Counted:
    """A viewer whose bytes are counted over a window."""

    def __init__(self, root: str) -> None:
        start = time.perf_counter()
        self.tab = WebDashboard(root)
        self.tab.wait_for(lambda s: "Quit" in footer(s), timeout=300)
        self.first_paint = time.perf_counter() - start


def window(upstream: Upstream, viewers: list[Counted]) -> tuple[float, float]:
    """Upstream requests per minute, and mean bytes per minute per viewer, over the window."""
    offset = upstream.mark()
    before = [v.tab.screen.bytes for v in viewers]
    start = time.perf_counter()
    time.sleep(WINDOW)
    took = time.perf_counter() - start
    requests = upstream.count_since(offset) * 60 / took
    sent = [v.tab.screen.bytes - b for v, b in zip(viewers, before, strict=True)]
    return requests, statistics.mean(sent) * 60 / took


def screenshot(root: str, service: ServiceProcess) -> str:
    """The page in Chromium, as a person sees it; a line saying why not, if it cannot be."""
    browser = shutil.which("chromium-headless-shell")
    if browser is None:
        return "no screenshot: chromium-headless-shell is not installed"
    import httpx
    from playwright.sync_api import sync_playwright

    for name in ("ghz-lab", "qft-lab", "bell-lab"):
        body = sampler_body("fake_cairo", shots=100_000, name=name)
        httpx.post(f"{service.url}/jobs", json=body).raise_for_status()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        page = chromium.new_page(viewport={"width": 1280, "height": 760})
        page.goto(f"{root}/")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = page.evaluate(
                "() => document.querySelector('.xterm-accessibility-tree')?.textContent || ''"
            )
            if "bell-lab" in text and "Quit" in text:
                break
            page.wait_for_timeout(200)
        page.wait_for_timeout(1500)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        chromium.close()
    return f"screenshot: {SCREENSHOT.relative_to(ROOT)}"


def measure(home: Path) -> dict[str, object]:
    service = ServiceProcess(home / "service").start()
    relay = RelayProcess(
        home / "relay", "--source", service.root, "--refresh", "2", "--max-sessions", str(MANY)
    ).start()
    upstream = Upstream(relay.root)
    viewers: list[Counted] = []
    result: dict[str, object] = {}
    try:
        assert relay.proc is not None
        relay_before = rss_kb(relay.proc.pid)
        viewers.append(Counted(relay.root))
        time.sleep(3)  # the first paint settles
        result["idle_1"] = window(upstream, viewers)
        with feeding(service.url):
            time.sleep(5)
            result["busy_1"] = window(upstream, viewers)
        time.sleep(10)  # the feeder's jobs finish
        viewers += [Counted(relay.root) for _ in range(MANY - 1)]
        time.sleep(3)
        dashboards = children(relay.proc.pid)
        result["dashboards"] = len(dashboards)
        result["rss_per_viewer"] = statistics.mean(rss_kb(p) for p in dashboards)
        result["relay_growth"] = (rss_kb(relay.proc.pid) - relay_before) / MANY
        result["first_paint"] = statistics.median(v.first_paint for v in viewers)
        result["idle_many"] = window(upstream, viewers)
        with feeding(service.url) as feeder:
            time.sleep(5)
            start = time.perf_counter()
            result["busy_many"] = window(upstream, viewers)
            changes = [n for at, n in feeder.changes if at > start]
            result["changes"] = statistics.mean(changes) if changes else 0.0
        for viewer in viewers:
            viewer.tab.close()
        time.sleep(10)
        result["shot"] = screenshot(relay.root, service)
    finally:
        for viewer in viewers:
            viewer.tab.close()
        relay.stop()
        service.stop()
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(Path(tmp))
    idle_1, busy_1 = r["idle_1"], r["busy_1"]
    idle_n, busy_n = r["idle_many"], r["busy_many"]

    def ratio(many: float, one: float) -> str:
        return f"{many / one:.2f}x" if one else "-"

    print("### Browser viewers: one poller, many tabs")
    print()
    print(
        "A relay (`--refresh 2`) over the local service; viewers are browser sessions "
        "(textual-serve's websocket protocol, 120x40), each its own dashboard process under "
        f"Textual's web driver at 20 frames a second. Windows of {WINDOW:.0f} s; busy: about "
        f"{r['changes']:.0f} jobs change per 2 s."
    )
    print()
    print(f"| | 1 viewer | {MANY} viewers | {MANY} / 1 |")
    print("|---|---:|---:|---:|")
    for label, one, many in (
        ("upstream requests/min, idle", idle_1[0], idle_n[0]),
        ("upstream requests/min, busy", busy_1[0], busy_n[0]),
    ):
        print(f"| {label} | {one:.1f} | {many:.1f} | {ratio(many, one)} |")
    for label, one, many in (
        ("bytes/min per viewer, idle", idle_1[1], idle_n[1]),
        ("bytes/min per viewer, busy", busy_1[1], busy_n[1]),
    ):
        print(f"| {label} | {one / 1024:.1f} KB | {many / 1024:.1f} KB | {ratio(many, one)} |")
    print()
    print(
        f"Memory per browser viewer: {r['rss_per_viewer'] / 1024:.0f} MB resident per "
        f"dashboard process ({r['dashboards']} running); the relay grew by "
        f"{r['relay_growth'] / 1024:.1f} MB per viewer. A tab's dashboard was on its screen "
        f"{r['first_paint']:.1f} s (median) after its websocket opened."
    )
    print()
    print(f"<!-- {r['shot']} -->")


if __name__ == "__main__":
    main()
