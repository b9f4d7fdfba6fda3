"""Who a browser is: the relay's tokens, from an ``Authorization`` header or the page's cookie.

A browser that has no header asks for the token once (``/login``) and keeps it in an
``HttpOnly``, ``SameSite=Strict`` cookie. Where no token is needed (loopback without tokens, as
the relay's API), the request must still name a loopback host, so that a page of another site
that rebinds its name to 127.0.0.1 gets nothing. The websocket (and the login form) must come
from the relay's own page: its ``Origin`` names the host the request was sent to.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote

from qjob_tui.edge.same_site import is_loopback_host
from qjob_tui.relay.door import Door

COOKIE = "qjob_relay_token"
COOKIE_DAYS = 30


def cookie_value(token: str) -> str:
    return quote(token, safe="")


class WebAccess:
    """Where a browser request's credential is found: its ``Authorization`` header, else the
    page's cookie, judged by the relay's ``Door`` (one throttle with the relay's other doors)."""

    def __init__(self, door: Door) -> None:
        self.door = door

    async def role(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], address: str
    ) -> str | None:
        """The request's role, or None when it must first give a token."""
        role, proven = await self._role(headers, cookies, address)
        # A role no token proved (the open door): only under a loopback name, so that a page
        # of another site rebinding its name to 127.0.0.1 gets nothing, whatever it sends.
        if role is not None and not proven and not is_loopback_host(headers.get("host", "")):
            return None
        return role

    async def _role(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], address: str
    ) -> tuple[str | None, bool]:
        """The role, and whether a token of the relay's proved it."""
        proven = not self.door.tokens.open_to_all
        header = headers.get("authorization", "")
        if header.partition(" ")[2]:  # a credential: judged
            return await self.door.role(header, address), proven
        cookie = cookies.get(COOKIE)
        if cookie:
            token = unquote(cookie)
            # One spelling: the cookie exactly as the login page set it; another is wrong.
            spelled = cookie_value(token) == cookie
            role = await self.door.judge(
                address, lambda: self.door.token_role(token) if spelled else None
            )
            return role, proven
        return self.door.tokens.role(header), False

    async def login(self, token: str, address: str) -> str | None:
        """The role a token given on the login page stands for (None: no such token)."""
        return await self.door.judge(address, lambda: self.door.token_role(token))
