"""``qjob-tui serve``: run the local job service under uvicorn."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import IO

import uvicorn

from qjob_tui.edge.connections import uvicorn_limits
from qjob_tui.edge.listen import bind, is_loopback
from qjob_tui.edge.shutdown import StreamsFirstServer
from qjob_tui.service.app import ServiceConfig, create_app
from qjob_tui.service.datalock import DataInUse, DataLock, unused
from qjob_tui.wire.child_env import drop_secrets

# A bearer token guards a service others can reach; shorter ones are guessed too easily.
MIN_TOKEN_LENGTH = 16


def refusal(host: str, token: str | None) -> str | None:
    """Why the service must not start on this host, or None if it may."""
    if is_loopback(host):
        return None
    if not token:
        return (
            f"refusing to serve on {host} without a token: anyone on the network could "
            "submit and cancel jobs. Put a secret in $QJOB_TUI_SERVICE_TOKEN (or name another "
            "variable with --token-env VAR, or give a private file with --token-file PATH); "
            "clients then send 'Authorization: Bearer SECRET'. "
            "Or serve on 127.0.0.1."
        )
    if sum(1 for char in token if not char.isspace()) < MIN_TOKEN_LENGTH:
        return (
            f"refusing to serve on {host} with a token of fewer than {MIN_TOKEN_LENGTH} "
            "non-blank characters: it could be guessed. Use a longer secret, e.g. "
            "'python -c \"import secrets; print(secrets.token_urlsafe(24))\"'."
        )
    return None


def serve(
    config: ServiceConfig,
    host: str,
    port: int,
    log_level: str = "warning",
    *,
    while_used: bool = False,
) -> int:
    """Serve until interrupted (or, ``while_used``, until no dashboard holds a lease on the
    data directory, see ``datalock``); returns the process exit code."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    # Circuits, results and logs are the user's alone: every file and folder the service
    # makes (its data folder, the database, the worker's scratch) is readable by no one else.
    os.umask(0o077)
    # The secrets are in ``config`` now; worker processes spawned later must not inherit them.
    drop_secrets(values=(config.token, config.iam_apikey))
    lock = DataLock(config.data_dir)
    try:
        lock.acquire()
    except DataInUse as exc:
        print(f"qjob-tui serve: {exc}", file=sys.stderr)
        return 1
    try:
        try:
            sock = bind(host, port)
        except OSError as exc:
            reason = exc.strerror or exc
            print(f"qjob-tui serve: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
            return 1
        with sock:
            return _run(config, sock, log_level, lock, while_used)
    finally:
        lock.release()


def _run(
    config: ServiceConfig, sock: socket.socket, log_level: str, lock: DataLock, while_used: bool
) -> int:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/api/v1"
    lock.announce(url)
    app = create_app(config)
    # Open change streams (GET /stream) are ended as shutdown begins (``edge/shutdown.py``);
    # any other request in progress has 2 s to finish.
    # No logging configuration of uvicorn's own: its records go to the root logger, which
    # the command line set up (one line on stderr, tracebacks in the crash log).
    uvicorn_config = uvicorn.Config(
        app,
        log_level=log_level,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=2,
        **uvicorn_limits(),
    )
    server = StreamsFirstServer(uvicorn_config, app.state.service.db.feed.close)
    print(f"qjob-tui service: {url}  (data: {config.data_dir})", file=sys.stderr, flush=True)
    if config.iam_apikey:
        print(f"IAM token endpoint: http://{shown}:{port}/identity/token", file=sys.stderr)
    if while_used:
        threading.Thread(
            target=_stop_when_unused, args=(server, config.data_dir), daemon=True
        ).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn raises the Ctrl+C it stopped for once it has stopped: after a start, that
        # is the normal stop; before, an interrupted start.
        if not server.started:
            raise
    return 0 if server.started else 1


# Kept open, exclusively locked, until the process ends: see ``datalock``.
_LAST_USER_GONE: list[IO[str]] = []


def _stop_when_unused(server: uvicorn.Server, data_dir: Path) -> None:
    """Ask the server to stop once no dashboard holds a lease (checked twice a second)."""
    while not server.should_exit:
        handle = unused(data_dir)
        if handle is not None:
            _LAST_USER_GONE.append(handle)
            logging.getLogger("qjob_tui.service").warning(
                "no dashboard uses the service any more (--while-used): stopping"
            )
            server.should_exit = True
            return
        time.sleep(0.5)
