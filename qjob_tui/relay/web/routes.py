"""The browser's routes in the relay's app: the page, the token's form, the client, the socket.

``/sources`` stays the API's, behind its own gate (``RelayGate``); every other path is the
browser's, and each route here checks access itself (``access.py``).
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from qjob_tui.edge.client_left import client_left
from qjob_tui.edge.logins import TooManyAttempts, client_address
from qjob_tui.edge.same_site import same_origin
from qjob_tui.relay.door import Door
from qjob_tui.relay.viewer_dashboard import role_token
from qjob_tui.relay.web.access import COOKIE, COOKIE_DAYS, WebAccess, cookie_value
from qjob_tui.relay.web.browser_session import CLOSE_TRY_LATER, BrowserSession, WebSettings
from qjob_tui.relay.web.client import client_script, textual_serve_static
from qjob_tui.relay.web.page import SECURITY_HEADERS, dashboard_page, login_page, title
from qjob_tui.store import JobStore

log = logging.getLogger("qjob_tui.relay.web")

API_PREFIX = "/sources"
LOGIN_BODY_LIMIT = 4096
CLOSE_POLICY = 1008  # websocket close code: refused by policy
OWN_STATIC = Path(str(resources.files("qjob_tui.relay.web") / "static"))


class BrowserView:
    """The routes' handlers over one store."""

    def __init__(self, store: JobStore, settings: WebSettings, door: Door) -> None:
        self.store = store
        self.settings = settings
        self.access = WebAccess(door)

    async def _role(self, request: Request | WebSocket) -> str | None:
        return await self.access.role(
            request.headers, request.cookies, client_address(request.scope)
        )

    async def page(self, request: Request) -> Response:
        try:
            role = await self._role(request)
        except TooManyAttempts as exc:
            return _later(exc)
        if role is None:
            return HTMLResponse(login_page(), 401, headers=SECURITY_HEADERS)
        return HTMLResponse(dashboard_page(self.store), headers=SECURITY_HEADERS)

    async def login(self, request: Request) -> Response:
        if not same_origin(request.headers):
            return PlainTextResponse("refused: the form was not sent from this relay's page", 403)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > LOGIN_BODY_LIMIT:
                return PlainTextResponse("refused: the form is too long", 413)
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=4)
        except (UnicodeDecodeError, ValueError):
            fields = {}
        token = (fields.get("token") or [""])[0].strip()
        try:
            role = await self.access.login(token, client_address(request.scope))
        except TooManyAttempts as exc:
            return _later(exc)
        if role is None:
            page = login_page("That is not a token of this relay.")
            return HTMLResponse(page, 401, headers=SECURITY_HEADERS)
        response = RedirectResponse("/", 303, headers=SECURITY_HEADERS)
        response.set_cookie(
            COOKIE,
            cookie_value(token),
            max_age=COOKIE_DAYS * 24 * 3600,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def status(self, request: Request) -> Response:
        try:
            role = await self._role(request)
        except TooManyAttempts as exc:
            return _later(exc)
        if role is None:
            return JSONResponse({"error": "a token is needed"}, 401)
        return JSONResponse({"title": title(self.store)}, headers={"Cache-Control": "no-store"})

    async def client(self, request: Request) -> Response:
        return Response(
            client_script(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def socket(self, websocket: WebSocket) -> None:
        try:
            role = await self._role(websocket)
        except TooManyAttempts as exc:  # as the page's other doors answer: not "wrong", later
            await _deny(websocket, _later(exc), CLOSE_TRY_LATER)
            return
        if role is None:  # as the page's other doors answer a missing or wrong token
            refused = PlainTextResponse("a token is needed", 401, headers=SECURITY_HEADERS)
            await _deny(websocket, refused, CLOSE_POLICY)
            return
        if not same_origin(websocket.headers):
            await websocket.close(CLOSE_POLICY)  # a page of another site: 403
            return
        token = role_token(self.access.door.tokens, role)
        await BrowserSession(websocket, self.settings, role, token).run()


async def _deny(websocket: WebSocket, answer: Response, close_code: int) -> None:
    """Refuse a websocket with an HTTP answer where the server can send one (uvicorn's
    websockets implementation can); else by closing it before it opens (an HTTP 403)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(answer)
    else:
        await websocket.close(close_code)


def _later(exc: TooManyAttempts) -> Response:
    """A credential turned away unheard (a flood from this address): not "wrong", but later."""
    return PlainTextResponse(str(exc), 429, headers={**SECURITY_HEADERS, **exc.headers})


def browser_app(store: JobStore, settings: WebSettings, door: Door) -> Starlette:
    """The browser's routes; ``door`` is the relay's one, shared with its API (and SSH)."""
    view = BrowserView(store, settings, door)
    return Starlette(
        routes=[
            Route("/", view.page, methods=["GET", "HEAD"]),
            Route("/login", view.login, methods=["POST"]),
            Route("/web/status", view.status, methods=["GET"]),
            Route("/static/js/textual.js", view.client, methods=["GET", "HEAD"]),
            Mount("/static", StaticFiles(directory=textual_serve_static())),
            Mount("/web", StaticFiles(directory=OWN_STATIC)),
            WebSocketRoute("/ws", view.socket),
        ],
        exception_handlers={ClientDisconnect: client_left},
    )


class WithBrowser:
    """The relay's app with the browser's beside it: ``/sources`` is the API, the rest is the
    browser's."""

    def __init__(self, api: Any, browser: Any) -> None:
        self.api = api
        self.browser = browser

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] in ("http", "websocket") else ""
        if path == API_PREFIX or path.startswith(API_PREFIX + "/") or scope["type"] == "lifespan":
            await self.api(scope, receive, send)
        else:
            await self.browser(scope, receive, send)
