"""A server that takes no token answers no web page: not one whose name rebinds to 127.0.0.1
(its requests name that host), not a blind cross-site POST (its ``Origin`` names another
site). Against the real service and relay on loopback; programs, which send no ``Origin`` and
name the address they use, are let in as before, and a token vouches for a request whatever
its ``Host``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from qjob_tui.edge.listen import is_loopback
from qjob_tui.edge.same_site import is_loopback_host, page_refusal, same_origin
from tests.http_helpers import submit
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

REBOUND = {"Host": "attacker.example:8080"}
CROSS_SITE = {"Origin": "http://attacker.example"}
OPERATOR = "pages-operator-" + "o" * 20


@pytest.fixture(scope="module")
def open_relay(service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A relay without tokens (loopback): its API is open to this machine's programs."""
    home = tmp_path_factory.mktemp("pages-relay")
    proc = RelayProcess(home, "--source", service.root, "--no-web").start()
    with httpx.Client(base_url=proc.root) as http:
        (source,) = [entry["name"] for entry in http.get("/sources").json()["sources"]]
    yield f"{proc.root}/sources/{source}/api/v1"
    proc.stop()


def _refused(response: httpx.Response, why: str) -> None:
    assert response.status_code == 403, response.text
    assert why in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("where", ["service", "relay"])
def test_a_rebound_name_gets_nothing(where: str, service: ServiceProcess, open_relay: str) -> None:
    base = service.url if where == "service" else open_relay
    with httpx.Client(base_url=base) as http:
        assert http.get("/jobs").status_code == 200
        _refused(http.get("/jobs", headers=REBOUND), "loopback address")


@pytest.mark.parametrize("where", ["service", "relay"])
def test_a_cross_site_cancel_is_refused_before_it_acts(
    where: str, service: ServiceProcess, open_relay: str
) -> None:
    with httpx.Client(base_url=service.url) as http:
        job_id = submit(http)
    base = service.url if where == "service" else open_relay
    with httpx.Client(base_url=base) as http:
        _refused(http.post(f"/jobs/{job_id}/cancel", headers=CROSS_SITE), "another site")
        # The same request from the server's own page (or a program) gets through to the route.
        own = {"Origin": f"http://{httpx.URL(base).netloc.decode()}"}
        assert http.post(f"/jobs/{job_id}/cancel", headers=own).status_code != 403


def test_a_token_vouches_whatever_the_host(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "pages-token-" + "t" * 20
    monkeypatch.setenv("QJOB_TUI_SERVICE_TOKEN", token)
    proc = ServiceProcess(tmp_path_factory.mktemp("pages-secured")).start()
    try:
        with httpx.Client(base_url=proc.url) as http:
            headers = {**REBOUND, "Authorization": f"Bearer {token}"}
            assert http.get("/jobs", headers=headers).status_code == 200
            assert http.get("/jobs", headers=REBOUND).status_code == 401
    finally:
        proc.stop()


# One rule for where a server may listen without a token and for the names a request without
# one may be sent to: the same table for both.
LOOPBACK_NAMES = [
    ("127.0.0.1", True),
    ("127.1.2.3", True),
    ("::1", True),
    ("localhost", True),
    ("localhost.", True),
    ("LocalHost", True),
    ("0.0.0.0", False),
    ("::", False),
    ("192.168.1.4", False),
    ("attacker.example", False),
    ("127.0.0.1.nip.io", False),
    ("localhost.attacker.example", False),
    ("", False),
]


@pytest.mark.parametrize(("name", "loopback"), LOOPBACK_NAMES)
def test_one_loopback_rule_for_listening_and_for_host_headers(name: str, loopback: bool) -> None:
    assert is_loopback(name) is loopback
    shown = f"[{name}]" if ":" in name else name
    assert is_loopback_host(shown) is loopback
    assert is_loopback_host(f"{shown}:8000") is loopback


@pytest.mark.parametrize("host", ["", "[::1", "::1", ":8000"])
def test_a_host_header_that_names_no_host_is_no_loopback(host: str) -> None:
    assert is_loopback_host(host) is False


@pytest.mark.parametrize("where", ["service", "relay"])
def test_a_cross_site_get_without_origin_is_refused(
    where: str, service: ServiceProcess, open_relay: str
) -> None:
    """What an <img> of another site sends: no Origin, but Sec-Fetch-Site (it could read a
    private job's result away, which the service deletes as it is read)."""
    base = service.url if where == "service" else open_relay
    with httpx.Client(base_url=base) as http:
        image = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
        _refused(http.get("/jobs", headers=image), "another site")
        _refused(http.get("/jobs", headers={"Sec-Fetch-Site": "same-site"}), "another site")
        for own in ("same-origin", "none"):  # its own page, or a URL typed in the address bar
            assert http.get("/jobs", headers={"Sec-Fetch-Site": own}).status_code == 200


def test_origins() -> None:
    host = {"host": "127.0.0.1:8000"}
    assert same_origin(host)
    assert same_origin({**host, "origin": "http://127.0.0.1:8000"})
    assert not same_origin({**host, "origin": "http://127.0.0.1:8001"})
    assert not same_origin({**host, "origin": "null"})
    assert not same_origin({**host, "origin": "file://"})
    assert page_refusal({**host, "origin": "http://[::1"}) is not None
