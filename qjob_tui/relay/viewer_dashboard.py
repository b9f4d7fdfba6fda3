"""The dashboard the relay starts for a remote viewer, an SSH session or a browser tab alike.

One launch path, so that what holds for a viewer's dashboard holds for both doors: it watches
the relay (never upstream), with the token of the viewer's role; a viewer's is ``--readonly``;
it has a home of its own, thrown away with the session, and no secret of the relay's in its
environment. One count of the sessions open, against one limit (``--max-sessions``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Protocol

from qjob_tui.relay.door import OPERATOR, RelayTokens
from qjob_tui.saving import REMOTE_VIEWER_VARIABLE


class ViewerSession(Protocol):
    async def end(self, why: str, code: int | None = None) -> None: ...


class SessionCount:
    """The viewers' sessions open now (SSH and browser together), against the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: set[ViewerSession] = set()

    @property
    def full(self) -> bool:
        return len(self.open) >= self.limit

    async def end_all(self) -> None:
        await asyncio.gather(*(s.end("the relay is stopping") for s in list(self.open)))


def dashboard_command(relay: str, role: str) -> list[str]:
    """The command of a viewer's dashboard: it watches the relay; a viewer's only watches."""
    command = [sys.executable, "-m", "qjob_tui", "--relay", relay]
    if role != OPERATOR:
        command.append("--readonly")
    return command


def role_token(tokens: RelayTokens, role: str) -> str | None:
    """The token a dashboard of this role shows the relay."""
    return tokens.operator if role == OPERATOR else tokens.viewer


def dashboard_env(home: str, token: str | None, **extra: str) -> dict[str, str]:
    """The whole environment of a viewer's dashboard: its own home and the relay's token for
    its role; nothing else of the relay's environment (no other secret) reaches it."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, "config"),
        "XDG_CACHE_HOME": os.path.join(home, "cache"),
        "XDG_DATA_HOME": os.path.join(home, "data"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "QJOB_TUI_RELAY_TOKEN": token or "",
        # The dashboard runs on this host for someone elsewhere: it writes no file here.
        REMOTE_VIEWER_VARIABLE: "1",
        **extra,
    }
