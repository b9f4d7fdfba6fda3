"""Wrong tokens on the relay's browser login form, in its cookie and at its API are slowed per
address by one throttle (the relay's ``Door``), and a right token clears that address's record."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from qjob_tui.edge.logins import FailedLogins, TooManyAttempts
from qjob_tui.relay.app import create_relay_app
from qjob_tui.relay.door import Door, RelayTokens
from qjob_tui.relay.viewer_dashboard import SessionCount
from qjob_tui.relay.web.access import COOKIE
from qjob_tui.relay.web.browser_session import WebSettings
from qjob_tui.relay.web.routes import BrowserView, browser_app


def test_wrong_tokens_on_the_login_form_are_counted_per_address() -> None:
    settings = WebSettings(count=SessionCount(2))
    door = Door(RelayTokens(viewer="right-token"), FailedLogins())
    app = browser_app(None, settings, door)  # type: ignore[arg-type]  # the form never asks the store
    view: BrowserView = next(
        r for r in app.routes if getattr(r, "path", "") == "/login"
    ).endpoint.__self__  # type: ignore[attr-defined]
    view.access.door.logins.first = 0.0  # the doubling wait itself is FailedLogins' own test
    origin = {"origin": "http://testserver", "host": "testserver"}
    with TestClient(app, base_url="http://testserver") as client:
        for _ in range(2):
            answer = client.post("/login", data={"token": "wrong"}, headers=origin)
            assert answer.status_code == 401
        assert view.access.door.logins._count == {"testclient": 2}
        answer = client.post(
            "/login", data={"token": "right-token"}, headers=origin, follow_redirects=False
        )
        assert answer.status_code == 303
        assert view.access.door.logins._count == {}


def test_wrong_cookies_are_slowed_and_the_cookie_has_one_spelling() -> None:
    settings = WebSettings(count=SessionCount(2))
    door = Door(RelayTokens(viewer="viewer-token"), FailedLogins())
    no_sources = SimpleNamespace(pollers={})  # the status names each source: there are none
    app = browser_app(no_sources, settings, door)  # type: ignore[arg-type]
    page = next(r for r in app.routes if getattr(r, "path", "") == "/")
    view: BrowserView = page.endpoint.__self__  # type: ignore[attr-defined]
    view.access.door.logins.first = 0.0
    with TestClient(app, base_url="http://testserver") as client:
        for guess in ("wrong-1", "wrong-2", "%76iewer-token"):  # the last: the token, re-spelt
            client.cookies.set(COOKIE, guess)
            assert client.get("/web/status").status_code == 401
        assert view.access.door.logins._count == {"testclient": 3}
        client.cookies.set(COOKIE, "viewer-token")
        assert client.get("/web/status").status_code == 200
        assert view.access.door.logins._count == {}


def test_the_api_and_the_browser_share_one_throttle() -> None:
    """A wrong token at the API slows that address at the login form too, and the other way
    round: two doors of one relay are not twice the guesses."""
    door = Door(RelayTokens(viewer="viewer-token"), FailedLogins(first=0.0))
    no_sources = SimpleNamespace(pollers={}, subscribe=lambda listener: lambda: None)
    api = create_relay_app(no_sources, door)  # type: ignore[arg-type]
    browser = browser_app(no_sources, WebSettings(count=SessionCount(2)), door)  # type: ignore[arg-type]
    origin = {"origin": "http://testserver", "host": "testserver"}
    with (
        TestClient(api, base_url="http://testserver") as to_api,
        TestClient(browser, base_url="http://testserver") as to_browser,
    ):
        wrong = {"Authorization": "Bearer wrong"}
        assert to_api.get("/sources", headers=wrong).status_code == 401
        assert to_browser.post("/login", data={"token": "x"}, headers=origin).status_code == 401
        assert to_browser.get("/web/status", headers=wrong).status_code == 401
        assert door.logins._count == {"testclient": 3}
        right = {"Authorization": "Bearer viewer-token"}
        assert to_api.get("/sources", headers=right).status_code == 200
        assert door.logins._count == {}


def test_without_tokens_only_a_loopback_name_gets_in_whatever_it_sends() -> None:
    """A relay without tokens lets in callers under a loopback name only: a page of another
    site that rebinds its name to 127.0.0.1 gets nothing, even sending a header or a cookie
    (any credential stands for the operator where no token is needed)."""
    settings = WebSettings(count=SessionCount(2))
    no_sources = SimpleNamespace(pollers={})
    app = browser_app(no_sources, settings, Door(RelayTokens(), FailedLogins()))  # type: ignore[arg-type]
    with TestClient(app, base_url="http://rebound.example") as client:
        assert client.get("/web/status").status_code == 401
        assert client.get("/web/status", headers={"Authorization": "x"}).status_code == 401
        headers = {"Authorization": "Bearer anything"}
        assert client.get("/web/status", headers=headers).status_code == 401
        client.cookies.set(COOKIE, "anything")
        assert client.get("/web/status").status_code == 401
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        assert client.get("/web/status", headers=headers).status_code == 200
        client.cookies.set(COOKIE, "anything")
        assert client.get("/web/status").status_code == 200


def test_a_websocket_turned_away_in_a_flood_is_told_to_come_back_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A credential not judged because its address floods the door gets what every other door
    answers then, 429 with Retry-After, not the 403 of a wrong one."""
    settings = WebSettings(count=SessionCount(2))
    app = browser_app(None, settings, Door(RelayTokens(viewer="t"), FailedLogins()))  # type: ignore[arg-type]

    async def flooded(self: BrowserView, request: object) -> None:
        raise TooManyAttempts(7)

    monkeypatch.setattr(BrowserView, "_role", flooded)
    origin = {"origin": "http://testserver"}
    with (
        TestClient(app, base_url="http://testserver") as client,
        pytest.raises(WebSocketDenialResponse) as denied,
        client.websocket_connect("/ws", headers=origin),
    ):
        pass
    assert denied.value.status_code == 429
    assert denied.value.headers["retry-after"] == "7"


def test_a_websocket_with_a_wrong_token_is_told_401_and_another_site_403() -> None:
    """As the page's other doors: a wrong token is 401 (not the 403 of a foreign page)."""
    door = Door(RelayTokens(viewer="right"), FailedLogins(first=0.0))
    app = browser_app(None, WebSettings(count=SessionCount(2)), door)  # type: ignore[arg-type]
    with TestClient(app, base_url="http://testserver") as client:
        client.cookies.set(COOKIE, "wrong")
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            client.websocket_connect("/ws", headers={"origin": "http://testserver"}),
        ):
            pass
        assert denied.value.status_code == 401
        client.cookies.set(COOKIE, "right")
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/ws", headers={"origin": "http://elsewhere.example"}),
        ):
            pass
        assert closed.value.code == 1008
