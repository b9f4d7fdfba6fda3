"""Who a caller of the relay is, decided in one place for every door (its API, the browser's
page and login form): the relay's tokens, judged through one throttle of wrong credentials.

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

    def role(self, authorization: str) -> str | None:
        """The caller's role from its Authorization header, or None if it is refused."""
        if self.viewer is None and self.operator is None:
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
    """The relay's tokens and the one throttle every door of the relay judges them through."""

    def __init__(self, tokens: RelayTokens, logins: FailedLogins | None = None) -> None:
        self.tokens = tokens
        self.logins = logins or FailedLogins()

    def unvouched(self, authorization: str) -> bool:
        """Whether a request with this Authorization header gets in with no token proving it:
        every request of a relay without tokens, one without a credential at an open door."""
        if self.tokens.viewer is None and self.tokens.operator is None:
            return True
        return self.tokens.open and not authorization.partition(" ")[2]

    async def role(self, authorization: str, address: str) -> str | None:
        """The role of a request with this Authorization header (may be ``""``)."""
        if not authorization.partition(" ")[2]:
            return self.tokens.role(authorization)  # no credential: the open door, or none
        return await self.judge(address, lambda: self.header_role(authorization))

    async def judge(self, address: str, role_of: Callable[[], str | None]) -> str | None:
        """The role a sent credential stands for, asked once this address's wait is over; None
        (and a longer wait for the address) when it stands for none."""
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
