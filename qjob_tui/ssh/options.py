"""The SSH server's settings: keys of viewers and operators, host key, limits."""

from __future__ import annotations

import argparse
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from qjob_tui import locations
from qjob_tui.relay.door import RelayTokens

HOST_KEY_NAME = "ssh_host_ed25519_key"


class SshError(ValueError):
    """A setting the SSH server cannot start with; the message says what to fix."""


@dataclass(frozen=True)
class SshOptions:
    host: str
    port: int
    viewer_keys: Path | None
    operator_keys: Path | None
    host_key: Path
    idle_timeout: float
    dashboard: tuple[str, ...] = ()  # the command that starts one dashboard (tests may set it)


def ssh_options(args: argparse.Namespace) -> SshOptions:
    """Check the SSH flags."""
    try:
        from qjob_tui.ssh.quiet_asyncssh import asyncssh  # noqa: F401
    except ImportError:
        raise SshError("--ssh needs asyncssh: pip install 'qjob-tui[ssh]'") from None
    if args.authorized_keys is None and args.operator_keys is None:
        raise SshError("--ssh needs --authorized-keys FILE and/or --operator-keys FILE")
    for path in (args.authorized_keys, args.operator_keys):
        if path is not None and not path.is_file():
            raise SshError(f"no such keys file: {path}")
    if args.max_sessions < 1:
        raise SshError("--max-sessions must be 1 or more")
    if args.idle_timeout <= 0:
        raise SshError("--idle-timeout must be more than 0 seconds")
    data = (args.data or locations.data_dir()).expanduser()
    return SshOptions(
        host=args.ssh_host,
        port=args.ssh,
        viewer_keys=args.authorized_keys,
        operator_keys=args.operator_keys,
        host_key=data / HOST_KEY_NAME,
        idle_timeout=args.idle_timeout,
    )


def with_dashboard_tokens(tokens: RelayTokens) -> RelayTokens:
    """The relay's tokens with one for each role where none is configured: the dashboards of
    SSH sessions prove their role to the relay with them. Callers without a token, where none
    was needed (loopback), keep acting as before (``open``)."""
    return replace(
        tokens,
        viewer=tokens.viewer or secrets.token_urlsafe(24),
        operator=tokens.operator or secrets.token_urlsafe(24),
        open=tokens.open or tokens.open_to_all,
    )
