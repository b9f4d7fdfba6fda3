"""Hypothesis sends hostile queries to every route of the service and of the relay: whatever
the path parameters, query names and values, the answer is never a 5xx.

The routes are read from the apps themselves, so a route added later is covered too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Mount, Route

from qjob_tui.edge.logins import FailedLogins
from qjob_tui.relay.app import create_relay_app
from qjob_tui.relay.door import Door, RelayTokens
from qjob_tui.service.app import ServiceConfig, create_app
from qjob_tui.store import JobStore
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

# Names the routes read, to make hostile values reach real parsing; hypothesis adds others.
KNOWN_NAMES = [
    "limit", "offset", "next", "previous", "pending", "created_after", "created_before",
    "tags", "tags[]", "status", "status[]", "backend", "program", "sort", "mode", "search",
    "user", "session_id", "calibration_id", "exclude_params", "name",
]  # fmt: skip
HOSTILE_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["²", "٣", "1" * 5000, "-1", "1e309", "nan", "0x10", "true", "\x00", "[]"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["[" * 2000, "{" * 2000, "%ff%fe", "../../etc/passwd", "/proc/self/environ"]),
    st.datetimes().map(lambda at: at.isoformat()),
)


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    yield method, prefix + route.path


def service_routes(tmp_path: Path) -> list[tuple[str, str]]:
    return sorted(set(_routes(create_app(ServiceConfig(data_dir=tmp_path)).routes)))


def relay_routes() -> list[tuple[str, str]]:
    return sorted(
        set(_routes(create_relay_app(JobStore([]), Door(RelayTokens(), FailedLogins())).routes))
    )


def _fill(path: str, values: list[str]) -> str:
    """The path with each {param} replaced by a hostile value, URL-quoted."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            parts[index] = quote(values.pop(0) if values else "x", safe="") or "x"
    return "/".join(parts)


def _probe(base: str, routes: list[tuple[str, str]], headers: dict[str, str]) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.sampled_from(routes),
        st.lists(st.text(min_size=1, max_size=30), max_size=3),
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(KNOWN_NAMES), st.text(max_size=12)), HOSTILE_VALUES
            ),
            max_size=5,
        ),
    )
    def probe(route: tuple[str, str], path_values: list[str], query: list[tuple[str, str]]) -> None:
        method, path = route
        url = base + _fill(path, list(path_values))
        with (
            httpx.Client(timeout=60, headers=headers) as http,
            http.stream(method, url, params=query) as response,
        ):
            assert response.status_code < 500, (method, url, query, response.read()[:300])

    probe()


def test_hostile_queries_on_every_service_route(service: ServiceProcess, tmp_path: Path) -> None:
    routes = service_routes(tmp_path)
    assert ("GET", "/api/v1/workloads") in routes and ("POST", "/api/v1/jobs") in routes
    _probe(service.root, routes, {})


@pytest.fixture(scope="module")
def relay(service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc = RelayProcess(
        tmp_path_factory.mktemp("hostile-relay"), "--source", service.root, "--refresh", "3600"
    ).start()
    yield proc.root
    proc.stop()


def test_hostile_queries_on_every_relay_route(relay: str, service: ServiceProcess) -> None:
    routes = relay_routes()
    assert ("GET", "/sources") in routes
    source = httpx.get(f"{relay}/sources").json()["sources"][0]["name"]
    # Half the paths name the real source, so that the query reaches the routes behind it.
    named = [(method, path.replace("{source}", source, 1)) for method, path in routes]
    _probe(relay, routes + named, {})


def test_the_route_lists_are_read_from_the_apps(tmp_path: Path) -> None:
    assert len(service_routes(tmp_path)) > 20
    assert len(relay_routes()) > 5
