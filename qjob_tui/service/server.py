"""``qjob-tui serve``: run the local job service under uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import sys

import uvicorn

from qjob_tui.service.app import ServiceConfig, create_app
from qjob_tui.service.datalock import DataInUse, DataLock


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(host: str, token: str | None) -> str | None:
    """Why the service must not start on this host, or None if it may."""
    if not is_loopback(host) and not token:
        return (
            f"refusing to serve on {host} without a token: anyone on the network could "
            "submit and cancel jobs. Pass --token SECRET (clients then send "
            "'Authorization: Bearer SECRET'), or serve on 127.0.0.1."
        )
    return None


def serve(config: ServiceConfig, host: str, port: int, log_level: str = "warning") -> int:
    """Serve until interrupted; returns the process exit code."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    shown = f"[{host}]" if ":" in host else host
    lock = DataLock(config.data_dir)
    try:
        lock.acquire(f"http://{shown}:{port}/api/v1")
    except DataInUse as exc:
        print(f"qjob-tui serve: {exc}", file=sys.stderr)
        return 1
    try:
        return _run(config, host, port, log_level, shown)
    finally:
        lock.release()


def _run(config: ServiceConfig, host: str, port: int, log_level: str, shown: str) -> int:
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
    )
    print(
        f"qjob-tui service: http://{shown}:{port}/api/v1  (data: {config.data_dir})",
        file=sys.stderr,
        flush=True,
    )
    if config.iam_apikey:
        print(f"IAM token endpoint: http://{shown}:{port}/identity/token", file=sys.stderr)
    server.run()
    return 0 if server.started else 1
