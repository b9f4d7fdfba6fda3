"""Whether a source can be asked at all: its URL, port and credentials, checked before any request.

A URL that does not parse, a port out of range, or a token no HTTP header can carry (non-ASCII,
a newline) is a mistake of the user's settings: retrying cannot help, so it is refused at once
with a line that names it. A plain address (an ASCII name or a dotted IPv4 address, a port, a
path of plain characters) is checked with ``urllib``, which httpx parses alike: the dashboard
checks its sources before httpx is imported (its import is a fifth of the dashboard's start).
Anything else is also put to httpx's own parser, which has the last word.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from qjob_tui.text import one_line

SCHEMES = ("http", "https")
# What a host name may hold besides letters and digits of any script (IDNA names are fine);
# IPv6 literals come bracketed and are checked by urllib.
_HOST_PUNCTUATION = frozenset("._~%-")
# RFC 9110 header values are visible ASCII; bearer tokens and API keys never hold blanks.
_CREDENTIAL = re.compile(r"[\x21-\x7e]+")
# Addresses that need no IDNA, no brackets and no escaping, whose parts httpx reads as urllib
# does. Not an A-label ("xn--…", which httpx decodes), and a dotted number must be an address.
_PLAIN_URL = re.compile(
    r"https?://(?P<host>[A-Za-z0-9.-]{1,253})(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]{0,2000})?"
)
_DOTTED = re.compile(r"[0-9.]+")


def url_problem(url: str, what: str = "source") -> str | None:
    """Why ``url`` cannot be a server's address, or None if it can."""
    shown = repr(one_line(masked_url(url), 80))
    if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
        return f"{what} {shown} is not a URL: it is empty or holds blanks or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if "port" in str(exc).lower():
            return f"{what} {shown}: the port must be a number from 1 to 65535"
        return f"{what} {shown} is not a URL: {exc}"
    if parts.username is not None or parts.password is not None:
        return (
            f"{what} {shown}: a URL cannot carry a user or password (put the service's token "
            "in $QJOB_TUI_SERVICE_TOKEN)"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return (
            f"{what} {shown}: a server's address has no query or fragment (?… or #…); put the "
            "service's token in $QJOB_TUI_SERVICE_TOKEN"
        )
    if parts.scheme not in SCHEMES:
        return f"{what} {shown} is not a URL: it must start with http:// or https://"
    host = parts.hostname or ""
    if not host:
        return f"{what} {shown} is not a URL: it names no host"
    if ":" not in host and not all(ch.isalnum() or ch in _HOST_PUNCTUATION for ch in host):
        return f"{what} {shown} is not a URL: the host {host!r} holds characters a host cannot"
    if port is not None and port == 0:
        return f"{what} {shown}: port 0 is no server's port (ports are 1-65535)"
    if _plain(url):
        return None
    return client_parser_problem(url, what)


def _plain(url: str) -> bool:
    """True for an address httpx's parser surely accepts as it stands (see ``_PLAIN_URL``)."""
    found = _PLAIN_URL.fullmatch(url)
    if found is None:
        return False
    host = found["host"].lower()
    if host.startswith("xn--"):
        return False
    if _DOTTED.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
    return True


def client_parser_problem(url: str, what: str = "source") -> str | None:
    """Why httpx's URL parser, the client's, refuses ``url``: full-width letters fail IDNA
    there, and an ASCII "xn--" label only when its host is read."""
    import httpx  # here: the dashboard's first paint needs no httpx

    shown = repr(one_line(masked_url(url), 80))
    try:
        if not httpx.URL(url).host:
            return f"{what} {shown} is not a URL: it names no host"
    except (httpx.InvalidURL, ValueError) as exc:
        return f"{what} {shown} is not a URL: {one_line(exc, 80)}"
    return None


def masked_url(url: str) -> str:
    """The URL with what may be a secret masked: anything before an ``@`` of its authority (a
    password) and its query and fragment (``?token=…``)."""
    url, question, _ = url.partition("?")
    url, hash_sign, _ = url.partition("#")
    tail = "?***" if question else "#***" if hash_sign else ""
    head, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if sep and "@" in authority:
        return f"{head}://***@{authority.rpartition('@')[2]}{slash}{path}{tail}"
    return url + tail


def names_address(name: str, url: str) -> bool:
    """Whether a source's name is its address (``--source http://…`` names the source so):
    an error that starts with the name then need not say the address again."""
    if "://" not in name:
        return False
    return _root(masked_url(name)) == _root(masked_url(url))


def _root(url: str) -> str:
    return url.rstrip("/").removesuffix("/api/v1").rstrip("/")


def credential_problem(secret: str, what: str) -> str | None:
    """Why ``secret`` cannot go in an Authorization header, or None; never quotes it."""
    if _CREDENTIAL.fullmatch(secret):
        return None
    return (
        f"{what} cannot be sent: it holds blanks, line breaks or characters outside ASCII "
        "(check the variable or file it comes from)"
    )
