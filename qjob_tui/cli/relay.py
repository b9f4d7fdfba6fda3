"""``qjob-tui relay``: one store over the sources, served to many viewers (and over SSH)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from qjob_tui import locations
from qjob_tui.api.timeouts import READ_TIMEOUT
from qjob_tui.cli.arg_types import port, positive_int, positive_seconds, refresh, request_timeout

DEFAULT_PORT = 8766


def add_relay_parser(commands: Any) -> None:
    relay = commands.add_parser(
        "relay",
        help="watch the sources once and serve them to many viewers (HTTP, and SSH with --ssh)",
        description="One process polls (or listens to) each source once and serves the jobs "
        "to dashboards through the REST API v1: each source under "
        "/sources/NAME/api/v1, GET /sources lists them; a browser gets a dashboard at /. "
        "Tokens come from "
        "$QJOB_TUI_RELAY_TOKEN (viewers) and $QJOB_TUI_RELAY_OPERATOR_TOKEN (may act), "
        "never from the command line.",
    )
    relay.add_argument(
        "--source",
        action="append",
        dest="sources",
        help="watch this source: account name, 'ibm', 'local' or a URL (repeatable; "
        "default: the configured ones)",
    )
    relay.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    relay.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    relay.add_argument(
        "--refresh",
        type=refresh,
        metavar="SECONDS",
        help="poll interval, active jobs",
    )
    relay.add_argument(
        "--timeout",
        type=request_timeout,
        default=READ_TIMEOUT,
        metavar="SECONDS",
        help="how long each upstream request waits for an answer; a source silent for longer "
        f"reads as not answering (default {READ_TIMEOUT:g})",
    )
    relay.add_argument(
        "--ssh", type=port, metavar="PORT", help="also serve a dashboard per SSH session"
    )
    relay.add_argument(
        "--ssh-host", default="127.0.0.1", help="address the SSH server binds (default 127.0.0.1)"
    )
    relay.add_argument(
        "--authorized-keys", type=Path, metavar="FILE", help="SSH keys of viewers (read-only)"
    )
    relay.add_argument(
        "--operator-keys", type=Path, metavar="FILE", help="SSH keys of operators (may act)"
    )
    relay.add_argument("--no-web", action="store_true", help="serve no dashboard to browsers at /")
    relay.add_argument(
        "--max-sessions",
        type=positive_int,
        default=20,
        help="viewers' sessions at once, SSH and browser together (default 20)",
    )
    relay.add_argument(
        "--idle-timeout",
        type=positive_seconds,
        default=3600.0,
        metavar="SECONDS",
        help="end an SSH or browser session without a key press for this long (default 3600)",
    )
    relay.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"where the SSH host key lives (default {locations.data_dir()})",
    )
    relay.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
    )


def run_relay_command(args: argparse.Namespace) -> int:
    from qjob_tui.cli.dashboard import configured_sources
    from qjob_tui.cli.serve_secrets import SecretError, sendable
    from qjob_tui.cli.sources import SourceError, resolve_source
    from qjob_tui.config import load_settings
    from qjob_tui.relay.door import RelayTokens
    from qjob_tui.relay.server import refusal, relay_sources, run_relay
    from qjob_tui.store import StoreConfig

    try:  # a token no client can send would let no one in, and say nothing of why
        viewer, operator = (
            sendable(value, f"${name}") if (value := os.environ.get(name)) else None
            for name in ("QJOB_TUI_RELAY_TOKEN", "QJOB_TUI_RELAY_OPERATOR_TOKEN")
        )
    except SecretError as exc:
        print(f"qjob-tui relay: {exc}", file=sys.stderr)
        return 2
    tokens = RelayTokens(viewer=viewer, operator=operator)
    problem = refusal(args.host, tokens)
    if problem is not None:
        print(f"qjob-tui relay: {problem}", file=sys.stderr)
        return 2
    from qjob_tui.cli.crash import configure_logging

    configure_logging(args.log_level, "qjob-tui relay")
    settings, notices = load_settings()
    for notice in notices:
        print(f"qjob-tui relay: {notice}", file=sys.stderr)
    try:
        if args.sources:
            sources = [resolve_source(spec) for spec in args.sources]
        else:
            sources = configured_sources(settings, [], strict=True)
            if not sources:
                sources = [resolve_source("local")]
    except SourceError as exc:
        print(f"qjob-tui relay: {exc}", file=sys.stderr)
        return 2
    refresh = args.refresh or settings.refresh
    config = StoreConfig(interval=refresh, calm_interval=max(refresh * 5, 10))
    from qjob_tui.relay.viewer_dashboard import SessionCount

    count = SessionCount(args.max_sessions)  # SSH and browser sessions share the limit
    options = None
    if args.ssh is not None:
        from qjob_tui.ssh.options import SshError, ssh_options, with_dashboard_tokens

        try:
            options = ssh_options(args)
        except SshError as exc:
            print(f"qjob-tui relay: {exc}", file=sys.stderr)
            return 2
        tokens = with_dashboard_tokens(tokens)
    from qjob_tui.edge.logins import FailedLogins
    from qjob_tui.relay.door import Door

    # One door for the API, the browser's page and the SSH server: one rule of who a caller
    # is, one throttle of wrong credentials.
    door = Door(tokens, FailedLogins())
    also = None
    if options is not None:
        from functools import partial

        from qjob_tui.ssh.server import serve_ssh

        also = partial(serve_ssh, options, door=door, count=count)
    web = None
    if not args.no_web:
        web = _web_settings(count, args.idle_timeout)

    try:
        return asyncio.run(
            run_relay(
                relay_sources(sources),
                config,
                args.host,
                args.port,
                door,
                log_level=args.log_level,
                also=also,
                web=web,
                read_timeout=args.timeout,
            )
        )
    except OSError as exc:
        print(f"qjob-tui relay: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1


def _web_settings(count: Any, idle_timeout: float) -> Any:
    """The browser view's settings, or None (and a line saying why) without the web extra."""
    try:
        import textual_serve  # noqa: F401
        import websockets  # noqa: F401
    except ImportError:
        print(
            "qjob-tui relay: no dashboards in a browser: they need pip install 'qjob-tui[web]'",
            file=sys.stderr,
        )
        return None
    from qjob_tui.relay.web.browser_session import WebSettings

    return WebSettings(count=count, idle_timeout=idle_timeout)
