"""End to end: the relay's dashboard in Chromium (Debian's headless shell, driven by Playwright).

A relay with a viewer's and an operator's token over a real local service. The page's text is
read from xterm's accessibility tree (what a screen reader gets), so these tests also check
that the page offers its screen as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser import ensure_chromium, screen_text, wait_page
from tests.http_helpers import sampler_body
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess
from tests.test_relay import job_requests
from tests.web_frames import children, footer, row_of, wait_no_children

playwright_api = pytest.importorskip("playwright.sync_api")

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-9876543210"
TOKENS = {"QJOB_TUI_RELAY_TOKEN": VIEWER, "QJOB_TUI_RELAY_OPERATOR_TOKEN": OPERATOR}
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = ensure_chromium()
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def relay(
    service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    home = tmp_path_factory.mktemp("browser-relay")
    proc = RelayProcess(home, "--source", service.root, "--refresh", "3600", env=TOKENS).start()
    yield proc
    proc.stop()


@pytest.fixture
def contexts(browser: Any, relay: RelayProcess) -> Iterator[Any]:
    """``contexts(token)``: a browser profile that sends that token; all closed after the test,
    and the relay's dashboards gone with them."""
    made: list[Any] = []

    def make(token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        context = browser.new_context(viewport=VIEWPORT, extra_http_headers=headers)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    assert relay.proc is not None
    wait_no_children(relay.proc.pid)


def long_job(service: ServiceProcess, name: str) -> str:
    with httpx.Client(base_url=service.url) as http:
        body = sampler_body("fake_cairo", shots=100_000, name=name)
        return str(http.post("/jobs", json=body).json()["id"])


def active(row: str) -> bool:
    return "queued" in row or "running" in row


def open_dashboard(context: Any, relay: RelayProcess) -> Any:
    page = context.new_page()
    page.goto(f"{relay.root}/")
    return page


def test_the_lab_s_jobs_are_shown_and_the_title_names_the_relay(
    relay: RelayProcess, service: ServiceProcess, contexts: Any
) -> None:
    job_id = long_job(service, "browser-watch")
    page = open_dashboard(contexts(VIEWER), relay)
    screen = wait_page(page, lambda s: active(row_of(s, job_id)), timeout=90)
    assert "browser-watch" in row_of(screen, job_id)
    assert page.title() == f"qjob-tui relay · 127.0.0.1-{service.port}: ok"
    # The terminal fills the window ...
    box = page.locator(".xterm-screen").bounding_box()
    assert box is not None and box["width"] > VIEWPORT["width"] * 0.9
    assert box["height"] > VIEWPORT["height"] * 0.9
    top = screen.splitlines()[0]
    # ... and follows its size.
    page.set_viewport_size({"width": 800, "height": 600})

    def narrower(text: str) -> bool:
        # The first row's border now ends sooner (xterm may keep a shrunk row's old tail).
        lines = text.splitlines()
        return bool(lines) and "╮" in lines[0] and lines[0].index("╮") < len(top.rstrip()) * 0.8

    wait_page(page, narrower)


def test_a_viewer_has_no_cancel(
    relay: RelayProcess, service: ServiceProcess, contexts: Any
) -> None:
    job_id = long_job(service, "browser-viewer")
    page = open_dashboard(contexts(VIEWER), relay)
    screen = wait_page(page, lambda s: active(row_of(s, job_id)), timeout=90)
    assert "Quit" in footer(screen) and "Cancel" not in footer(screen)
    page.keyboard.type("c/")  # no click first: the page gives the terminal the keys at once
    screen = wait_page(page, lambda s: "filter: text, re:regex" in s)
    assert "Cancel this job?" not in screen
    with httpx.Client(base_url=service.url) as http:
        assert http.get(f"/jobs/{job_id}").json()["state"]["status"] in ("Queued", "Running")


def test_an_operator_cancels_a_job_and_the_service_sees_it(
    relay: RelayProcess, service: ServiceProcess, contexts: Any
) -> None:
    job_id = long_job(service, "browser-cancel")
    page = open_dashboard(contexts(OPERATOR), relay)
    screen = wait_page(page, lambda s: active(row_of(s, job_id)), timeout=90)
    assert "Cancel" in footer(screen)
    page.click("#terminal")
    page.keyboard.type("/")
    wait_page(page, lambda s: "filter: text, re:regex" in s)
    page.keyboard.type("browser-cancel")
    page.keyboard.press("Enter")
    wait_page(page, lambda s: "filter: browser-cancel" in s)
    page.keyboard.type("c")
    wait_page(page, lambda s: "Cancel this job?" in s)
    page.keyboard.type("y")
    wait_page(page, lambda s: "cancelled" in row_of(s, job_id), timeout=30)
    with httpx.Client(base_url=service.url) as http:
        assert http.get(f"/jobs/{job_id}").json()["state"]["status"] == "Cancelled"


def test_without_a_token_the_page_asks_for_it_once(
    relay: RelayProcess, service: ServiceProcess, contexts: Any
) -> None:
    context = contexts()
    page = context.new_page()
    answer = page.goto(f"{relay.root}/")
    assert answer is not None and answer.status == 401
    assert page.locator("#terminal").count() == 0
    page.fill("#token", "not the token")
    page.click("button[type=submit]")
    page.wait_for_selector("text=That is not a token of this relay.")
    assert not context.cookies()
    page.fill("#token", VIEWER)
    page.click("button[type=submit]")
    wait_page(page, lambda s: "Quit" in footer(s), timeout=90)
    [cookie] = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    again = context.new_page()  # another tab of the same browser: no question this time
    again.goto(f"{relay.root}/")
    wait_page(again, lambda s: "Quit" in footer(s), timeout=90)


def test_a_page_of_another_site_is_refused(relay: RelayProcess, contexts: Any) -> None:
    context = contexts(OPERATOR)  # even a browser that holds the operator's token
    evil = (
        f"<script>const ws = new WebSocket('ws://127.0.0.1:{relay.port}/ws');"
        "window.result = {bytes: 0};"
        "ws.onmessage = (e) => { window.result.bytes += 1; };"
        "ws.onclose = (e) => { window.result.closed = true; };</script>"
    )
    context.route(
        "http://evil.test/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=evil),
    )
    page = context.new_page()
    page.goto("http://evil.test/")
    page.wait_for_function("() => window.result && window.result.closed", timeout=30_000)
    assert page.evaluate("() => window.result.bytes") == 0
    assert relay.proc is not None and not children(relay.proc.pid)


def test_four_tabs_cost_the_upstream_what_one_does(
    relay: RelayProcess, service: ServiceProcess, contexts: Any
) -> None:
    context = contexts(VIEWER)
    first = open_dashboard(context, relay)
    wait_page(first, lambda s: "Quit" in footer(s), timeout=90)

    def watch_one_job_through(pages: list[Any], name: str) -> int:
        before = job_requests(service)
        job_id = long_job(service, name)
        for page in pages:
            wait_page(page, lambda s: active(row_of(s, job_id)), timeout=90)
        with httpx.Client(base_url=service.url) as http:
            http.post(f"/jobs/{job_id}/cancel")
        for page in pages:
            wait_page(page, lambda s: "cancelled" in row_of(s, job_id), timeout=60)
        return job_requests(service) - before

    with_one = watch_one_job_through([first], "one-tab")
    others = [open_dashboard(context, relay) for _ in range(3)]
    for page in others:
        wait_page(page, lambda s: "Quit" in footer(s), timeout=90)
    with_four = watch_one_job_through([first, *others], "four-tabs")
    assert relay.proc is not None and len(children(relay.proc.pid)) == 4
    # Our own submit and cancel are in both counts (so the log is read right); the tabs add
    # nothing upstream.
    assert with_one >= 2, with_one
    assert with_four <= with_one, (with_one, with_four)


def test_a_closed_tab_leaves_no_process(relay: RelayProcess, contexts: Any) -> None:
    assert relay.proc is not None
    wait_no_children(relay.proc.pid)
    page = open_dashboard(contexts(VIEWER), relay)
    wait_page(page, lambda s: "Quit" in footer(s), timeout=90)
    assert len(children(relay.proc.pid)) == 1
    assert screen_text(page)
    page.close()
    wait_no_children(relay.proc.pid)
