"""Where a server listens: the socket it binds, and whether only this machine can reach it."""

from __future__ import annotations

import ipaddress
import socket

# The names of this machine's loopback (RFC 6761), written with and without the root's dot.
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def is_loopback(host: str) -> bool:
    """True for a name or address only this machine can reach (``127.0.0.1``, ``::1``,
    ``localhost``), not for some name that merely resolves there."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port; port 0 lets the system choose a free one.

    The protocol must be given as TCP: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    on connections of sockets that say so, and with it on, small answers wait 40 ms for the
    client's delayed acknowledgement.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
