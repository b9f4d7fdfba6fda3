"""The relay's dashboards for browsers, at the websocket's level (no browser needed).

A relay with a viewer's and an operator's token over a real local service; each "tab" is a
websocket whose binary frames are fed to pyte. ``tests/test_e2e_browser.py`` drives the same
page in Chromium.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.http_helpers import sampler_body
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess
from tests.web_frames import WebDashboard, children, footer, row_of, wait_no_children

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-9876543210"
TOKENS = {"QJOB_TUI_RELAY_TOKEN": VIEWER, "QJOB_TUI_RELAY_OPERATOR_TOKEN": OPERATOR}
MAX_SESSIONS = 4  # the four tabs of the upstream test, and the limit of the limit's test


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def relay(
    service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    home = tmp_path_factory.mktemp("web-relay")
    args = ("--source", service.root, "--refresh", "3600", "--max-sessions", str(MAX_SESSIONS))
    proc = RelayProcess(home, *args, env=TOKENS).start()
    yield proc
    proc.stop()


@pytest.fixture
def tabs(relay: RelayProcess) -> Iterator[list[WebDashboard]]:
    """The tabs a test opens; all closed after it, and their dashboards gone."""
    opened: list[WebDashboard] = []
    yield opened
    for tab in opened:
        tab.close()
    assert relay.proc is not None
    wait_no_children(relay.proc.pid)


def long_job(service: ServiceProcess, name: str) -> str:
    """A job that stays queued for minutes, with a name to find its row by."""
    with httpx.Client(base_url=service.url) as http:
        body = sampler_body("fake_cairo", shots=100_000, name=name)
        return str(http.post("/jobs", json=body).json()["id"])


def active(row: str) -> bool:
    return "queued" in row or "running" in row


def test_no_token_gets_the_token_page_and_no_dashboard(relay: RelayProcess) -> None:
    page = httpx.get(f"{relay.root}/")
    assert page.status_code == 401
    assert '<form method="post" action="/login">' in page.text
    assert 'type="password"' in page.text
    for headers in ({}, bearer("not-a-token-of-this-relay"), bearer("vïewer")):
        with pytest.raises(InvalidStatus) as refused:
            WebDashboard(relay.root, headers)
        assert refused.value.response.status_code == 401  # as the page and the API answer
    non_ascii = {"Authorization": "Bearer vïewer".encode()}
    assert httpx.get(f"{relay.root}/", headers=non_ascii).status_code == 401
    assert httpx.get(f"{relay.root}/web/status").status_code == 401
    assert relay.proc is not None and not children(relay.proc.pid)


def test_a_wrong_token_on_the_page_is_said_so_and_sets_no_cookie(relay: RelayProcess) -> None:
    answer = httpx.post(
        f"{relay.root}/login", data={"token": "guess"}, headers={"Origin": relay.root}
    )
    assert answer.status_code == 401
    assert "That is not a token of this relay." in answer.text
    assert "set-cookie" not in answer.headers


def test_the_token_page_keeps_the_token_in_a_strict_httponly_cookie(
    relay: RelayProcess, service: ServiceProcess, tabs: list[WebDashboard]
) -> None:
    job_id = long_job(service, "cookie-viewer")
    answer = httpx.post(
        f"{relay.root}/login", data={"token": VIEWER}, headers={"Origin": relay.root}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert re.search(r"(?i)\bhttponly\b", cookie) and re.search(r"(?i)samesite=strict", cookie)
    assert re.search(r"(?i)path=/", cookie)
    name_value = cookie.split(";", 1)[0]
    page = httpx.get(f"{relay.root}/", headers={"Cookie": name_value})
    assert page.status_code == 200 and 'id="terminal"' in page.text
    tab = WebDashboard(relay.root, {"Cookie": name_value})
    tabs.append(tab)
    screen = tab.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
    assert "Quit" in footer(screen) and "Cancel" not in footer(screen)  # a viewer's


def test_a_page_of_another_site_is_refused(relay: RelayProcess) -> None:
    for origin in ("http://evil.example", "null", f"{relay.root}.evil.example"):
        with pytest.raises(InvalidStatus) as refused:
            WebDashboard(relay.root, bearer(OPERATOR), origin=origin)
        assert refused.value.response.status_code == 403
    form = httpx.post(
        f"{relay.root}/login", data={"token": OPERATOR}, headers={"Origin": "http://evil.example"}
    )
    assert form.status_code == 403 and "set-cookie" not in form.headers
    assert relay.proc is not None and not children(relay.proc.pid)


def test_a_viewer_watches_and_cannot_act(
    relay: RelayProcess, service: ServiceProcess, tabs: list[WebDashboard]
) -> None:
    job_id = long_job(service, "web-viewer-watch")
    tab = WebDashboard(relay.root, bearer(VIEWER))
    tabs.append(tab)
    screen = tab.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
    assert "Quit" in footer(screen) and "Cancel" not in footer(screen)
    tab.keys("c")
    tab.keys("/")  # keys are taken in order: had "c" opened a dialog, this would not show
    screen = tab.wait_for(lambda s: "filter: text, re:regex" in s)
    assert "Cancel this job?" not in screen
    with httpx.Client(base_url=service.url) as http:
        assert http.get(f"/jobs/{job_id}").json()["state"]["status"] in ("Queued", "Running")


def test_an_operator_cancels_through_the_relay(
    relay: RelayProcess, service: ServiceProcess, tabs: list[WebDashboard]
) -> None:
    job_id = long_job(service, "web-to-cancel")
    operator = WebDashboard(relay.root, bearer(OPERATOR))
    viewer = WebDashboard(relay.root, bearer(VIEWER))
    tabs += [operator, viewer]
    viewer.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
    screen = operator.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
    assert "Cancel" in footer(screen)
    operator.keys("/")
    operator.wait_for(lambda s: "filter: text, re:regex" in s)
    operator.keys("web-to-cancel")
    operator.keys("\r")
    operator.wait_for(lambda s: "filter: web-to-cancel" in s)
    operator.keys("c")
    operator.wait_for(lambda s: "Cancel this job?" in s)
    operator.keys("y")
    operator.wait_for(lambda s: "cancelled" in row_of(s, job_id), timeout=30)
    viewer.wait_for(lambda s: "cancelled" in row_of(s, job_id), timeout=30)
    with httpx.Client(base_url=service.url) as http:
        assert http.get(f"/jobs/{job_id}").json()["state"]["status"] == "Cancelled"


def test_a_closed_tab_leaves_no_process(relay: RelayProcess, tabs: list[WebDashboard]) -> None:
    assert relay.proc is not None
    wait_no_children(relay.proc.pid)
    tab = WebDashboard(relay.root, bearer(VIEWER))
    tab.wait_for(lambda s: "Quit" in footer(s), timeout=90)
    [dashboard] = children(relay.proc.pid)
    environ = Path(f"/proc/{dashboard}/environ").read_bytes().split(b"\0")
    assert OPERATOR.encode() not in b" ".join(environ)  # no secret of the relay's
    assert f"QJOB_TUI_RELAY_TOKEN={VIEWER}".encode() in environ
    assert b"TEXTUAL_FPS=20" in environ  # not textual-serve's 60 frames a second
    assert b"--readonly" in Path(f"/proc/{dashboard}/cmdline").read_bytes().split(b"\0")
    tab.close()
    wait_no_children(relay.proc.pid)


def test_sessions_past_the_limit_are_told_to_try_later(
    relay: RelayProcess, tabs: list[WebDashboard]
) -> None:
    assert relay.proc is not None
    wait_no_children(relay.proc.pid)
    for _ in range(MAX_SESSIONS):
        tab = WebDashboard(relay.root, bearer(VIEWER))
        tabs.append(tab)
        tab.wait_for(lambda s: "Quit" in footer(s), timeout=90)
    late = WebDashboard(relay.root, bearer(VIEWER))
    assert late.closed.wait(30)
    assert f"{MAX_SESSIONS} sessions are open; try later" in late.screen.text()
    assert len(children(relay.proc.pid)) == MAX_SESSIONS


def test_an_idle_tab_is_ended(service: ServiceProcess, tmp_path: Path) -> None:
    args = ("--source", service.root, "--refresh", "3600", "--idle-timeout", "2")
    relay = RelayProcess(tmp_path, *args).start()
    try:
        assert relay.proc is not None
        tab = WebDashboard(relay.root)  # loopback, no tokens: as the relay's API
        assert tab.closed.wait(60)
        assert "idle for 2 s; bye" in tab.screen.text()
        wait_no_children(relay.proc.pid)
    finally:
        relay.stop()


def test_four_tabs_cost_the_upstream_what_one_does(
    relay: RelayProcess, service: ServiceProcess, tabs: list[WebDashboard]
) -> None:
    from tests.test_relay import job_requests

    assert relay.proc is not None
    wait_no_children(relay.proc.pid)
    first = WebDashboard(relay.root, bearer(VIEWER))
    tabs.append(first)
    first.wait_for(lambda s: "Quit" in footer(s), timeout=90)

    def watch_one_job_through(watching: list[WebDashboard], name: str) -> int:
        before = job_requests(service)
        job_id = long_job(service, name)
        for tab in watching:
            tab.wait_for(lambda s: active(row_of(s, job_id)), timeout=90)
        with httpx.Client(base_url=service.url) as http:
            http.post(f"/jobs/{job_id}/cancel")
        for tab in watching:
            tab.wait_for(lambda s: "cancelled" in row_of(s, job_id), timeout=60)
        return job_requests(service) - before

    with_one = watch_one_job_through([first], "ws-one-tab")
    others = [WebDashboard(relay.root, bearer(VIEWER)) for _ in range(MAX_SESSIONS - 1)]
    tabs += others
    for tab in others:
        tab.wait_for(lambda s: "Quit" in footer(s), timeout=90)
    with_many = watch_one_job_through([first, *others], "ws-many-tabs")
    assert len(children(relay.proc.pid)) == MAX_SESSIONS
    # Our own submit and cancel are in both counts (so the log is read right); the tabs add
    # nothing upstream.
    assert with_one >= 2, with_one
    assert with_many <= with_one, (with_one, with_many)


def test_no_web_serves_no_page(service: ServiceProcess, tmp_path: Path) -> None:
    args = ("--source", service.root, "--refresh", "3600", "--no-web")
    relay = RelayProcess(tmp_path, *args).start()
    try:
        assert httpx.get(f"{relay.root}/").status_code == 404
        assert httpx.get(f"{relay.root}/static/js/textual.js").status_code == 404
        with pytest.raises(InvalidStatus):
            WebDashboard(relay.root)
        assert httpx.get(f"{relay.root}/sources").status_code == 200  # the API stays
    finally:
        relay.stop()


def test_what_no_client_sends_is_ignored(relay: RelayProcess, tabs: list[WebDashboard]) -> None:
    tab = WebDashboard(relay.root, bearer(VIEWER), width=100, height=30)
    tabs.append(tab)
    tab.wait_for(lambda s: "Quit" in footer(s), timeout=90)
    for junk in (b"\x00binary", "not json", '{"a": 1}', '["stdin", 5]', '["resize", "x"]'):
        tab.ws.send(junk)
    tab.ws.send('["resize", {"width": 99999999, "height": -5}]')  # clamped, not obeyed
    tab.ws.send('["resize", {"width": 90, "height": 30}]')
    tab.keys("/")
    tab.wait_for(lambda s: "filter: text, re:regex" in s)
    assert not tab.closed.is_set()


def test_the_title_names_a_source_that_fails(tmp_path: Path) -> None:
    from tests.service_process import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    relay = RelayProcess(tmp_path, "--source", dead, "--refresh", "3600").start()
    try:
        deadline = time.monotonic() + 60
        while True:
            title = httpx.get(f"{relay.root}/web/status").json()["title"]
            if title.endswith(": failing"):
                break
            assert time.monotonic() < deadline, title
            time.sleep(0.1)
        assert title.startswith("qjob-tui relay · 127.0.0.1-")
        page = httpx.get(f"{relay.root}/")
        assert f"<title>{title}</title>" in page.text
    finally:
        relay.stop()


async def test_ssh_and_browser_sessions_share_the_limit(
    service: ServiceProcess, tmp_path: Path
) -> None:
    import asyncio

    import asyncssh

    from tests.service_process import free_port
    from tests.test_e2e_ssh import write_key

    key = write_key(tmp_path / "viewer")
    (tmp_path / "viewers").write_bytes(key.with_suffix(".pub").read_bytes())
    ssh_port = free_port()
    args = (
        "--source", service.root, "--refresh", "3600", "--max-sessions", "1",
        "--ssh", str(ssh_port), "--authorized-keys", str(tmp_path / "viewers"),
        "--data", str(tmp_path / "data"),
    )  # fmt: skip
    relay = RelayProcess(tmp_path, *args).start()
    try:
        while "host key SHA256:" not in relay.log.read_text():
            await asyncio.sleep(0.1)
        tab = await asyncio.to_thread(WebDashboard, relay.root)
        await asyncio.to_thread(tab.wait_for, lambda s: "Quit" in footer(s), 90)
        said = bytearray()

        class Session(asyncssh.SSHClientSession):  # type: ignore[type-arg]
            def data_received(self, data: bytes, datatype: object) -> None:
                said.extend(data)

        async with asyncssh.connect(
            "127.0.0.1", ssh_port, client_keys=[asyncssh.read_private_key(str(key))],
            known_hosts=None, username="lab",
        ) as conn:  # fmt: skip
            channel, _ = await conn.create_session(
                Session, term_type="xterm-256color", term_size=(80, 24), encoding=None
            )
            await asyncio.wait_for(channel.wait_closed(), 60)
        assert b"1 sessions are open; try later" in said
        await asyncio.to_thread(tab.close)
        assert relay.proc is not None
        await asyncio.to_thread(wait_no_children, relay.proc.pid)
    finally:
        relay.stop()
