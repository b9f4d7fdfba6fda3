"""``GET /version`` before httpx is loaded: who a local qjob-tui service is, in a few ms.

The dashboard keys its cache by the server's identity, so it must ask before it can paint the
cached history; httpx and its TLS context cost more than everything else of the first paint.
For the common case (a plain ``http://`` URL, no proxy in the environment) this asks over one
socket, in a thread, with h11 (the HTTP/1.1 parser httpx itself uses) reading the answer. It only
ever confirms: anything else (https, a proxy, a refusal, another server, a surprise) returns
None and the caller asks again through the full client, with its retries and error messages.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import h11

QUICK_TIMEOUT = 2.0  # per connect and read; then the full client asks
MAX_BODY = 64 * 1024
_PROXY_VARIABLES = frozenset({"http_proxy", "all_proxy"})


def _proxied(env: Mapping[str, str]) -> bool:
    """True if httpx would send a plain-http request through a proxy (or might)."""
    return any(key.lower() in _PROXY_VARIABLES and value for key, value in env.items())


def applies(url: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether the quick question can be asked at ``url`` (…/api/v1) at all."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.username or parts.password:
        return False
    return not _proxied(os.environ if env is None else env)


def qjob_tui_instance(url: str, headers: Mapping[str, str]) -> tuple[str | None, int]:
    """The ``instance_id`` a qjob-tui service at ``url`` gives on ``GET /version`` (None for
    any answer that is not exactly that, and for any failure to get one), and the bytes of
    the answer's body received (for the client's request counts).

    It blocks (at most ``QUICK_TIMEOUT`` per step): call it in a thread.
    """
    try:
        status, body = _get_version(url, headers)
    except (OSError, ValueError, EOFError, ImportError):
        return None, 0
    if status != 200:
        return None, len(body)
    try:
        answer = json.loads(body)
    except ValueError:
        return None, len(body)
    if not isinstance(answer, dict) or answer.get("service") != "qjob-tui":
        return None, len(body)
    instance = answer.get("instance_id")
    return (instance if isinstance(instance, str) and instance else None), len(body)


def _get_version(url: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
    import h11

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 80
    authority = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        authority += f":{parts.port}"
    request = h11.Request(
        method="GET",
        target=f"{parts.path.rstrip('/')}/version",
        headers=[
            ("Host", authority),
            ("Accept", "application/json"),
            ("User-Agent", "qjob-tui"),
            ("Connection", "close"),
            *headers.items(),
        ],
    )
    connection = h11.Connection(h11.CLIENT)
    with socket.create_connection((host, port), timeout=QUICK_TIMEOUT) as sock:
        try:
            return _exchange(connection, request, sock)
        except h11.ProtocolError as exc:
            raise ValueError(f"not HTTP/1.1 as h11 reads it: {exc}") from None


def _exchange(
    connection: h11.Connection, request: h11.Request, sock: socket.socket
) -> tuple[int, bytes]:
    """Send the request, read the one answer: (status, body)."""
    import h11

    send = connection.send
    sock.sendall((send(request) or b"") + (send(h11.EndOfMessage()) or b""))
    status = 0
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise ValueError("an oversized /version answer")
        elif isinstance(event, h11.EndOfMessage):
            return status, bytes(body)
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            raise EOFError("closed before the answer ended")
