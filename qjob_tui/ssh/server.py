"""The SSH server of ``qjob-tui relay --ssh``: keys in, a dashboard per session out.

Authentication is by public key only, against the viewers' and the operators' files (re-read
when they change). An unknown key is refused, logged, and told why in an authentication banner;
a key is judged by the relay's ``Door``, through the throttle of every door of the relay
(``edge.logins.FailedLogins``): each failure doubles its address's wait, and only a few
attempts wait.
A session must ask for a terminal and a shell; ``exec``, subsystems (SFTP), port, agent and X11
forwarding are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

from qjob_tui.edge.logins import TooManyAttempts
from qjob_tui.relay.door import OPERATOR, VIEWER, Door
from qjob_tui.relay.viewer_dashboard import SessionCount, role_token
from qjob_tui.ssh.options import SshOptions
from qjob_tui.ssh.quiet_asyncssh import asyncssh
from qjob_tui.ssh.session import DashboardSession

log = logging.getLogger("qjob_tui.ssh")


def host_key(path: Path) -> asyncssh.SSHKey:
    """The server's host key, created on first start (Ed25519, readable by its owner only)."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="qjob-tui relay")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
    return key


class KeyRing:
    """Who may log in, and as what: viewers' and operators' keys, re-read when a file changes."""

    def __init__(self, viewers: Path | None, operators: Path | None) -> None:
        self._files = {VIEWER: viewers, OPERATOR: operators}
        self._loaded: dict[str, tuple[float, asyncssh.SSHAuthorizedKeys | None]] = {}

    def _keys(self, role: str) -> asyncssh.SSHAuthorizedKeys | None:
        path = self._files[role]
        if path is None:
            return None
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._loaded.get(role)
        if cached is None or cached[0] != mtime:
            try:
                keys = asyncssh.import_authorized_keys(path.read_text())
            except (OSError, ValueError) as exc:
                log.warning("cannot read %s keys from %s: %s", role, path, exc)
                keys = None
            cached = self._loaded[role] = (mtime, keys)
        return cached[1]

    def role(self, key: asyncssh.SSHKey, host: str, addr: str) -> str | None:
        """OPERATOR, VIEWER, or None for a key in neither file (operators win a tie)."""
        for role in (OPERATOR, VIEWER):
            keys = self._keys(role)
            if keys is not None and keys.validate(key, host, addr) is not None:
                return role
        return None


class RelaySSHServer(asyncssh.SSHServer):
    """One SSH connection: public-key authentication, then dashboard sessions."""

    def __init__(
        self,
        options: SshOptions,
        relay: str,
        keys: KeyRing,
        door: Door,
        count: SessionCount,
    ) -> None:
        self.options = options
        self.relay = relay
        self.keys = keys
        self.door = door
        self.count = count
        self.role: str | None = None
        self._conn: asyncssh.SSHServerConnection | None = None
        self._addr = "?"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self._addr = str(peer[0])

    def begin_auth(self, username: str) -> bool:
        return True  # every login must authenticate

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # The relay's one door: a key of a failing address is judged only after its wait, and
        # only a few attempts of one address wait at once; the rest are refused unheard.
        try:
            self.role = await self.door.judge(
                self._addr, lambda: self.keys.role(key, self._addr, self._addr)
            )
        except TooManyAttempts:
            self.role = None  # not judged: SSH has no "later", the client may try again
        if self.role is not None:
            return True
        fingerprint = key.get_fingerprint()
        log.warning(
            "refused SSH key %s for user %r from %s", fingerprint, username[:40], self._addr
        )
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send_auth_banner(
                    f"qjob-tui relay: the key {fingerprint} is not allowed here. Ask the relay's "
                    "operator to add its public key to the viewers' or operators' keys file.\r\n"
                )
        return False

    def session_requested(self) -> DashboardSession | bool:
        if self.role is None:
            return False
        token = role_token(self.door.tokens, self.role)
        return DashboardSession(self.options, self.relay, self.role, token, self.count)


async def serve_ssh(
    options: SshOptions,
    relay: str,
    door: Door,
    count: SessionCount,
) -> None:
    """Serve SSH until cancelled; ``door`` is the relay's one (its tokens and throttle), and
    ``count`` is shared with the browser's sessions."""
    key = host_key(options.host_key)
    keys = KeyRing(options.viewer_keys, options.operator_keys)

    def factory() -> RelaySSHServer:
        return RelaySSHServer(options, relay, keys, door, count)

    server = await asyncssh.create_server(
        factory,
        options.host,
        options.port,
        server_host_keys=[key],
        encoding=None,
        line_editor=False,
        allow_pty=True,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        login_timeout=30,
        keepalive_interval=30,
        keepalive_count_max=3,
    )
    port = server.sockets[0].getsockname()[1] if server.sockets else options.port
    print(
        f"qjob-tui relay: SSH on {options.host}:{port}, host key {key.get_fingerprint()}",
        file=sys.stderr,
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        server.close()
        await count.end_all()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await server.wait_closed()
