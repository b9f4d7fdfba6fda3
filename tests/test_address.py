"""A source's address is refused by the dashboard's own check exactly when the client's parser
(httpx) would refuse it, though plain addresses are checked without importing httpx."""

from __future__ import annotations

import pytest

from qjob_tui.api.address import client_parser_problem, url_problem

PLAIN = [
    "http://127.0.0.1:8765",
    "http://127.0.0.1:8765/",
    "https://quantum.cloud.ibm.com/api",
    "https://us-east.quantum-computing.cloud.ibm.com/",
    "http://localhost:8765/api/v1",
    "http://LOCALHOST:1/a/b.c~d_e-f/",
    "http://a.xn--zz.example:443",  # an A-label past the first one: httpx reads it as ASCII
    "http://10.0.0.255",
    "http://host.",
    "https://x",
]
LEFT_TO_HTTPX = [
    "http://xn--zz.com",  # an A-label that decodes to nothing
    "http://XN--ZZ.com",
    "http://" + "".join(chr(ord(c) + 0xFEE0) for c in "localhost") + ":18001",  # full-width
    "http://münchen.example",
    "http://999.0.0.1",  # a dotted number that is no address
    "http://127.1",
    "http://...",
    "http://[::1]:8765",
    "http://host/a%zz",
    "http://host/p;x=1",
]


@pytest.mark.parametrize("url", PLAIN + LEFT_TO_HTTPX)
def test_the_check_agrees_with_the_clients_parser(url: str) -> None:
    assert url_problem(url) == client_parser_problem(url)


def test_the_clients_parser_is_asked_where_it_refuses() -> None:
    refused = [url for url in LEFT_TO_HTTPX if client_parser_problem(url) is not None]
    assert len(refused) == 4, refused
    for url in refused:
        assert "is not a URL" in (url_problem(url) or "")
