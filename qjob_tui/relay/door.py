"""Who a caller of the relay is, decided in one place for every door (its API, the browser's
page and login form, the SSH server's keys): the relay's tokens and one throttle of wrong
credentials, in one ``Door`` that the relay command builds once and hands to every door.

A credential that was sent, right or wrong, is judged only once its address's wait is over
(``edge.logins.FailedLogins``); a wrong one makes that address wait longer. A caller that sends
none is an operator where the relay needs no token, and refused otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from qjob_tui.edge.logins import FailedLogins, same_secret

OPERATOR = "operator"
VIEWER = "viewer"


@dataclass(frozen=True)
class RelayTokens:
    """Who may do what: viewers read, operators also act. No tokens at all (loopback only):
    every caller is an operator, as with ``serve``."""

    viewer: str | None = field(default=None, repr=False)  # secrets: never in a repr or a log
    operator: str | None = field(default=None, repr=False)
    open: bool = False  # callers without a token act too (loopback, tokens made for SSH)

    @property
    def open_to_all(self) -> bool:
        """No token at all (an empty one is none): every caller is an operator, whatever it
        sends. The one place this rule is written."""
        return not (self.viewer or self.operator)

    def role(self, authorization: str) -> str | None:
        """The caller's role from its Authorization header, or None if it is refused."""
        if self.open_to_all:
            return OPERATOR
        scheme, _, credential = authorization.partition(" ")
        if not credential:
            return OPERATOR if self.open else None
        if scheme.lower() != "bearer":
            return None
        if self.operator and same_secret(credential, self.operator):
            return OPERATOR
        if self.viewer and same_secret(credential, self.viewer):
            return VIEWER
        return None


class Door:
    """The relay's tokens and the one throttle every door of the relay judges them through
    (no default throttle: a door made without the relay's would be a second one)."""

    def __init__(self, tokens: RelayTokens, logins: FailedLogins) -> None:
        self.tokens = tokens
        self.logins = logins

    def unvouched(self, authorization: str) -> bool:
        """Whether a request with this Authorization header gets in with no token proving it:
        every request of a relay without tokens, one without a credential at an open door."""
        if self.tokens.open_to_all:
            return True
        return self.tokens.open and not authorization.partition(" ")[2]

    async def role(self, authorization: str, address: str) -> str | None:
        """The role of a request with this Authorization header (may be ``""``)."""
        if not authorization.partition(" ")[2]:
            return self.tokens.role(authorization)  # no credential: the open door, or none
        return await self.judge(address, lambda: self.header_role(authorization))

    async def judge(self, address: str, role_of: Callable[[], str | None]) -> str | None:
        """The role a sent credential (a token, a cookie, an SSH key) stands for, asked once
        this address's wait is over; None (and a longer wait for the address) when none."""
        found: str | None = None

        def right() -> bool:
            nonlocal found
            found = role_of()
            return found is not None

        await self.logins.check(address, right)
        return found

    def header_role(self, authorization: str) -> str | None:
        if not authorization.isascii() or not authorization.isprintable():
            return None  # no token of the relay's is spelled so
        return self.tokens.role(authorization)

    def token_role(self, token: str) -> str | None:
        """The role a bare token stands for (None: no such token, or none given)."""
        return self.header_role(f"Bearer {token}") if token else None
