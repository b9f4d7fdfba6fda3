"""Every edge of the service and the relay answers 4xx to bad input, never 5xx: queries,
Authorization headers, token spellings, failed logins, slow connections, double framing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qjob_tui.edge.connections import HEAD_SECONDS, MAX_CONNECTIONS
from qjob_tui.edge.logins import MOST_WAITING, FailedLogins, TooManyAttempts
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

TOKEN = "edge-token-" + "e" * 20
APIKEY = "edge-apikey-" + "k" * 20
VIEWER = "edge-viewer-" + "v" * 20
OPERATOR = "edge-operator-" + "o" * 20


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    secrets = {"QJOB_TUI_SERVICE_TOKEN": TOKEN, "QJOB_TUI_IAM_APIKEY": APIKEY}
    proc = ServiceProcess(tmp_path_factory.mktemp("edge"), env=secrets).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def relay(service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"QJOB_TUI_RELAY_TOKEN": VIEWER, "QJOB_TUI_RELAY_OPERATOR_TOKEN": OPERATOR}
    home = tmp_path_factory.mktemp("edge-relay")
    proc = RelayProcess(home, "--source", service.root, "--refresh", "3600", env=env).start()
    yield proc.root
    proc.stop()


_addresses = iter(range(2, 250))


def fresh_address() -> str:
    """A loopback address of its own (127.0.0.N): failed logins are counted per address, so
    that each test starts with none."""
    return f"127.0.0.{next(_addresses)}"


def from_fresh_address() -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=fresh_address())
    return httpx.Client(transport=transport, timeout=60)


def port_of(url: str) -> int:
    return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def raw_request(port: int, request: bytes, wait: float = 30.0) -> bytes:
    """Send bytes as they are, from a fresh address; everything answered until the close."""
    source = (fresh_address(), 0)
    with socket.create_connection(("127.0.0.1", port), timeout=wait, source_address=source) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


# --- /workloads -----------------------------------------------------------------------------

NESTED = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "²"},
        {"limit": "٣"},
        {"limit": "1" * 5000},
        {"limit": "-1"},
        {"limit": " 5"},
        {"next": NESTED[:8000]},
        {"next": "x" * 60_000},
        {"previous": "%%%"},
        {"status": "\udcff".encode("utf-8", "surrogatepass").decode("latin-1")},
    ],
    ids=lambda query: f"{next(iter(query))}:{str(next(iter(query.values())))[:12]}",
)
def test_bad_workload_queries_are_400(service: ServiceProcess, query: dict[str, str]) -> None:
    response = httpx.get(f"{service.url}/workloads", params=query, timeout=60)
    assert response.status_code == 400, response.text


# --- Authorization --------------------------------------------------------------------------

HOSTILE_AUTH = [
    b"Bearer \xff\xfe\x80",
    b"Bearer \xc3\xa9t\xc3\xa9",
    b"Bearer " + "é".encode("latin-1"),
    b"Bearer",
    b"Bearer ",
    b"\xff",
    b"Basic " + base64.b64encode(b"user:pass"),
    b"Bearer a.b.c",
    b"Bearer " + b"A" * 8000,
]


@pytest.mark.parametrize("header", HOSTILE_AUTH, ids=[str(n) for n in range(len(HOSTILE_AUTH))])
def test_hostile_authorization_is_401_on_the_service_and_the_relay(
    secured: ServiceProcess, relay: str, header: bytes
) -> None:
    for port, path in ((secured.port, "/api/v1/jobs"), (port_of(relay), "/sources")):
        request = (
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode()
            + b"Connection: close\r\nAuthorization: "
            + header
            + b"\r\n\r\n"
        )
        answer = raw_request(port, request)
        assert int(answer.split(b" ", 2)[1]) == 401, (path, answer[:300])


def test_an_issued_token_is_accepted_in_one_spelling_only(secured: ServiceProcess) -> None:
    with from_fresh_address() as http:
        issued = http.post(
            f"{secured.root}/identity/token",
            data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": APIKEY},
        ).json()["access_token"]

        def status(token: str, scheme: str = "Bearer") -> int:
            headers = {"Authorization": f"{scheme} {token}"}
            return http.get(f"{secured.url}/backends", headers=headers).status_code

        assert status(issued) == 200
        header, payload, signature = issued.split(".")
        for variant in (
            f"{issued}=",
            f"{issued}==",
            f"{header}.{payload}.{signature}!",
            f"{header}.{payload}.{signature[:-1]}{signature[-1]}.",
            f"{header}.{payload}.{signature.replace('-', '+').replace('_', '/')}"
            if ("-" in signature or "_" in signature)
            else f"{header}.{payload}.{signature}*",
            f" {issued}",
            f"{header}=.{payload}.{signature}",
        ):
            assert status(variant) == 401, variant
        assert status(issued) == 200


# --- failed logins --------------------------------------------------------------------------


async def test_each_failed_login_doubles_the_wait_of_its_address() -> None:
    logins = FailedLogins(first=0.02, most=0.2)
    judged: list[float] = []

    def wrong() -> bool:
        judged.append(time.monotonic())
        return False

    for _ in range(6):
        await logins.check("10.0.0.1", wrong)
    gaps = [later - earlier for earlier, later in itertools.pairwise(judged)]
    # Each attempt is judged only after the wait its predecessors earned: 20, 40, 80, 160,
    # then 200 ms (the cap). Lower bounds only: a busy machine only adds to them.
    for gap, wait in zip(gaps, [0.02, 0.04, 0.08, 0.16, 0.2], strict=True):
        assert gap >= wait * 0.9
    # Another address is not slowed, and attempts at once are judged one at a time.
    start = time.monotonic()
    await logins.check("10.0.0.2", wrong)
    assert judged[-1] >= start
    several = await asyncio.gather(*(logins.check("10.0.0.1", wrong) for _ in range(3)))
    assert several == [False] * 3
    assert judged == sorted(judged)
    # A right credential resets the count once it is judged.
    assert await logins.check("10.0.0.1", lambda: True)
    assert await logins.check("10.0.0.1", wrong) is False


async def test_a_flood_of_wrong_tokens_queues_only_a_few() -> None:
    """A hundred wrong tokens at once from one address: a few wait their turn, the rest are
    turned away unheard at once (they queued 100 waits, locking out the address for good),
    told to come back later, not that they are wrong. The wait is an hour, so no waiter is
    judged while the flood arrives, however busy the host."""
    logins = FailedLogins(first=3600, most=3600)
    judged = 0

    def wrong() -> bool:
        nonlocal judged
        judged += 1
        return False

    await logins.check("10.0.0.9", wrong)  # the address is failing now
    flood = [asyncio.create_task(logins.check("10.0.0.9", wrong)) for _ in range(100)]
    try:
        for refused, done in enumerate(asyncio.as_completed(flood), start=1):
            with pytest.raises(TooManyAttempts) as later:
                await done
            assert later.value.retry_after >= 3600  # no sooner than the address's wait
            if refused == len(flood) - MOST_WAITING:
                break
        assert logins._waiting == {"10.0.0.9": MOST_WAITING}
        assert judged == 1  # the others were refused without being judged
    finally:
        for attempt in flood:
            attempt.cancel()
        await asyncio.gather(*flood, return_exceptions=True)
    assert logins._waiting == {}  # the queue is gone with its attempts


async def test_after_a_flood_the_right_token_is_heard() -> None:
    logins = FailedLogins(first=0.02, most=0.1)
    await logins.check("10.0.0.9", lambda: False)
    flood = await asyncio.gather(
        *(logins.check("10.0.0.9", lambda: False) for _ in range(100)), return_exceptions=True
    )
    assert all(answer is False or isinstance(answer, TooManyAttempts) for answer in flood)
    assert await logins.check("10.0.0.9", lambda: True)


@pytest.mark.parametrize("door", ["service", "relay"])
async def test_a_right_token_sent_during_a_flood_is_told_to_wait_not_that_it_is_wrong(
    door: str,
) -> None:
    """Wrong tokens from one address fill its queue; the right one, turned away unheard, gets
    429 with Retry-After (it got 401 "invalid or expired", which clients take as final). The
    doors' own middleware, in process, with an hour's wait: nothing is judged meanwhile."""
    from starlette.responses import PlainTextResponse

    from qjob_tui.relay.app import RelayGate
    from qjob_tui.relay.door import Door, RelayTokens
    from qjob_tui.service.app import AuthMiddleware

    logins = FailedLogins(first=3600, most=3600)
    inner = PlainTextResponse("in")
    if door == "service":
        app: object = AuthMiddleware(inner, token=TOKEN, issuer=None, logins=logins)
    else:
        app = RelayGate(inner, Door(RelayTokens(viewer=VIEWER, operator=TOKEN), logins))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        wrong = {"Authorization": "Bearer " + "w" * 24}
        assert (await http.get("/jobs", headers=wrong)).status_code == 401
        waiting = [asyncio.create_task(http.get("/jobs", headers=wrong)) for _ in range(9)]
        try:
            while sum(task.done() for task in waiting) < 9 - MOST_WAITING:
                await asyncio.sleep(0.01)  # until the queue is full and the rest turned away
            answer = await http.get("/jobs", headers={"Authorization": f"Bearer {TOKEN}"})
            assert answer.status_code == 429, answer.text
            assert int(answer.headers["retry-after"]) >= 3600
            assert "try again in" in answer.json()["errors"][0]["message"]
        finally:
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)


def test_wrong_api_keys_and_tokens_are_slowed_down_not_blocked(secured: ServiceProcess) -> None:
    with from_fresh_address() as http:
        started = time.monotonic()
        for n in range(7):
            answer = http.post(
                f"{secured.root}/identity/token",
                data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": f"x{n}"},
            )
            assert answer.status_code == 400
        # 7 wrong keys: the 7th waited for 50+100+200+400+800+1600 ms at least.
        assert time.monotonic() - started >= 3.1
        # The right key still works: slowed, never locked out.
        good = http.get(f"{secured.url}/backends", headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200


# --- connections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"GET /api/v1/backends HTTP/1.1\r\n",
        b"GET /api/v1/backends HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1",
        b'POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"a":',
    ],
    ids=["nothing", "request-line", "half-headers", "stalled-body"],
)
def test_a_connection_that_does_not_finish_its_request_is_closed(
    service: ServiceProcess, relay: str, partial: bytes
) -> None:
    # Both servers' connections are opened first, so their deadlines run at the same time.
    conns = [
        socket.create_connection(("127.0.0.1", port), timeout=HEAD_SECONDS * 6)
        for port in (service.port, port_of(relay))
    ]
    try:
        for conn in conns:
            conn.sendall(partial)
        for conn in conns:
            while conn.recv(65536):  # the server closes it: the read ends, never times out
                pass
    finally:
        for conn in conns:
            conn.close()


def test_a_kept_alive_connection_that_starts_a_request_and_stalls_is_closed(
    service: ServiceProcess,
) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=HEAD_SECONDS * 6) as conn:
        conn.sendall(b"GET /api/v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = conn.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        # Every second a byte of the next request: the keep-alive timer is off, the head's
        # deadline is not.
        with pytest.raises(OSError):
            for byte in b"GET /api/v1/version HTTP/1.1\r\nX-Slow: " + b"a" * 60:
                conn.sendall(bytes([byte]))
                conn.settimeout(1.0)
                try:
                    if conn.recv(65536) == b"":
                        raise ConnectionResetError("closed by the service")
                except TimeoutError:
                    continue


def test_the_cap_on_open_connections_holds_and_frees_itself(service: ServiceProcess) -> None:
    """MAX_CONNECTIONS silent connections: the next request is turned away (503, not served),
    and once the silent ones are closed for their silence, requests are served again."""
    silent = [
        socket.create_connection(("127.0.0.1", service.port), timeout=60)
        for _ in range(MAX_CONNECTIONS)
    ]
    try:
        with httpx.Client(timeout=60) as http:
            deadline = time.monotonic() + 30
            while (turned := http.get(f"{service.url}/version")).status_code != 503:
                assert time.monotonic() < deadline, "the cap never held"
            assert turned.status_code == 503
            for conn in silent:  # each is closed by the service: its read ends
                while conn.recv(65536):
                    pass
            assert http.get(f"{service.url}/version").status_code == 200
    finally:
        for conn in silent:
            conn.close()


@pytest.mark.parametrize("target", ["service", "relay"])
def test_content_length_with_transfer_encoding_is_refused_and_closed(
    service: ServiceProcess, relay: str, target: str
) -> None:
    if target == "service":
        port, first, second = service.port, "/api/v1/jobs", "/api/v1/backends"
    else:
        port = port_of(relay)
        first, second = "/sources", "/sources"
    smuggled = (
        f"POST {first} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        f"GET {second} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    ).encode()
    answer = raw_request(port, smuggled)
    assert answer.count(b"HTTP/1.1 ") == 1, answer[:500]
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"connection: close" in answer.lower()


_hostile_sources = iter(f"127.1.{n // 250}.{n % 250 + 1}" for n in range(100_000))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    value=st.binary(max_size=200).map(
        lambda raw: bytes(b for b in raw if b not in b"\r\n\x00").strip(b" \t")
    ),
    scheme=st.sampled_from([b"Bearer ", b"bearer ", b"", b"Basic ", b"Bearer\t"]),
)
def test_any_authorization_bytes_get_a_4xx(
    secured: ServiceProcess, relay: str, value: bytes, scheme: bytes
) -> None:
    """Whatever bytes an Authorization header holds, the answer is a 4xx, never a 5xx."""
    for port, path in ((secured.port, "/api/v1/jobs"), (port_of(relay), "/sources")):
        request = (
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode()
            + b"Connection: close\r\nAuthorization: "
            + scheme
            + value
            + b"\r\n\r\n"
        )
        source = (next(_hostile_sources), 0)
        with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=source) as c:
            c.sendall(request)
            answer = b""
            while chunk := c.recv(65536):
                answer += chunk
        assert 400 <= int(answer.split(b" ", 2)[1]) < 500, answer[:300]


def _refused_by_the_edge(answer: bytes) -> bool:
    """The HTTP layer refused the request (the app never saw it): a reset, or its 400/431."""
    return answer == b"" or (
        answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431"))
        and b"application/json" not in answer.split(b"\r\n\r\n", 1)[0].lower()
    )


def _answer_or_reset(port: int, pieces: list[bytes]) -> bytes:
    """Send the pieces from a fresh address; what is answered until the close (b"" when the
    server reset the connection, having refused what was still arriving)."""
    source = (fresh_address(), 0)
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=source) as conn:
        try:
            for piece in pieces:
                conn.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while the rest was still being sent: its answer may be there
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
    return answer


@pytest.mark.parametrize("target", ["service", "relay"])
@pytest.mark.parametrize("pieces", [1, 40], ids=["at-once", "in-pieces"])
def test_an_oversized_request_head_is_refused_and_closed(
    service: ServiceProcess, relay: str, target: str, pieces: int
) -> None:
    """A head of 100 KiB (one long header), sent at once or in pieces, is refused and its
    connection closed: the server never holds a head of any size."""
    port = service.port if target == "service" else port_of(relay)
    head = b"GET /api/v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100 * 1024
    size = -(-len(head) // pieces)
    answer = _answer_or_reset(port, [head[i : i + size] for i in range(0, len(head), size)])
    assert _refused_by_the_edge(answer), answer[:300]


@pytest.mark.parametrize("target", ["service", "relay"])
def test_chunked_trailers_without_end_are_refused_and_closed(
    service: ServiceProcess, relay: str, target: str
) -> None:
    """Trailer lines after a chunked body count against the same bound as a head."""
    port, path = (
        (service.port, "/api/v1/jobs") if target == "service" else (port_of(relay), "/login")
    )
    start = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
    ).encode()
    trailers = [b"T%07d: %s\r\n" % (n, b"v" * 200) for n in range(5000)]  # 1 MB
    answer = _answer_or_reset(port, [start, *trailers, b"\r\n"])
    assert _refused_by_the_edge(answer), answer[:300]


def test_a_client_that_leaves_mid_body_is_no_error(tmp_path: Path) -> None:
    """A client that hangs up before its body is whole is said at info level, not logged as an
    unexpected error with a traceback (a flood of them filled the log)."""
    proc = ServiceProcess(tmp_path / "left").start()
    relay = RelayProcess(tmp_path / "relay", "--source", proc.root, "--refresh", "3600").start()
    try:
        for port, path, after in (
            (proc.port, "/api/v1/jobs", "/api/v1/version"),
            (relay.port, "/login", "/sources"),
        ):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: http://127.0.0.1:{port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            ).encode()
            with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
                conn.sendall(head)
            # A request after it is answered once the one that left was handled.
            assert httpx.get(f"http://127.0.0.1:{port}{after}").status_code < 500
    finally:
        relay.stop()
        proc.stop()
    for log in (proc.log, relay.log):
        text = log.read_text()
        assert "Traceback" not in text and "unexpected error" not in text, text[-2000:]
        assert "Exception in ASGI application" not in text, text[-2000:]
