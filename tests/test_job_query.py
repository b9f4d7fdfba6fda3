"""One reader of ``GET /jobs`` queries (``wire/job_query.py``) for the service and the relay.

Any query, however hostile, gives a query or a clear refusal, never an exception; and the
service and the relay answer the same 400 to the same bad query (before, the relay read
``offset=²`` or ``limit=-5`` by rules of its own).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qjob_tui.wire.job_query import (
    DEFAULT_LIMIT,
    MOST_OFFSET,
    SINGLE,
    JobQuery,
    QueryRefused,
    read_job_query,
)
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

NAMES = st.sampled_from([*SINGLE, "tags", "unknown"])
HOSTILE = st.one_of(
    st.text(),
    # ASCII digits and others that str.isdigit() or int() accept: superscripts, Arabic-Indic,
    # Devanagari, NKo and mathematical digits.
    st.text(alphabet="0123456789²³¹٣٤\u06f5१߁\U0001d7d8\U0001d7d9 +-_.eE\x00\x1b\u202e"),
    st.integers().map(str),
    st.integers(min_value=10**18, max_value=10**400).map(str),
    st.just("9" * 5000),
    st.sampled_from(["²", "٣", " 5", "5 ", "+5", "1_0", "-1", "0x10", "1e3", "NaN", "\udcff"]),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2024-02-30"]),
)


@given(st.lists(st.tuples(NAMES, HOSTILE), max_size=12))
def test_any_query_gives_a_query_or_a_clear_refusal(params: list[tuple[str, str]]) -> None:
    query = read_job_query(params)
    if isinstance(query, QueryRefused):
        assert query.message and len(query.message) < 300
        assert query.message.isprintable()  # the caller's value is quoted, escapes and all
        return
    assert isinstance(query, JobQuery)
    assert 1 <= query.limit <= DEFAULT_LIMIT and 0 <= query.offset <= MOST_OFFSET
    for moment in (query.created_after, query.created_before):
        assert moment is None or moment.utcoffset() is not None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("offset", "²")], "offset must be an integer, not '²'"),
        ([("offset", "٣")], "offset must be an integer, not '٣'"),
        ([("offset", " 5")], "offset must be an integer, not ' 5'"),
        ([("offset", "-1")], "offset must be within 0..9223372036854775807, not '-1'"),
        ([("offset", "9" * 5000)], "offset must be within 0..9223372036854775807"),
        ([("offset", "1"), ("offset", "2")], "offset can be given once, not 2 times"),
        ([("pending", "maybe")], "pending must be true or false, not 'maybe'"),
        ([("sort", "sideways")], "sort must be ASC or DESC, not 'sideways'"),
        ([("backend", "a\x1bb")], "backend cannot contain control characters"),
        ([("program", "p" * 64)], "program can be at most 63 characters, not 64"),
        ([("created_after", "yesterday")], "created_after must be an ISO 8601 date-time"),
        ([("created_after", "0001-01-01T00:00:00+01:00")], "created_after must be an ISO 8601"),
        ([("tags", f"t{n}") for n in range(9)], "at most 8 different tags can be given"),
    ],
)
def test_each_mistake_has_its_message(params: list[tuple[str, str]], message: str) -> None:
    refused = read_job_query(params)
    assert isinstance(refused, QueryRefused) and refused.message.startswith(message)


def test_ibm_rules_for_a_good_query() -> None:
    query = read_job_query(
        [("limit", "500"), ("offset", "3"), ("pending", "TRUE"), ("sort", "asc"),
         ("tags", "a"), ("tags", "b"), ("tags", "a"), ("created_after", "2024-05-01T10:00:00"),
         ("exclude_params", "true"), ("backend", "")]
    )  # fmt: skip
    assert query == JobQuery(
        limit=DEFAULT_LIMIT,  # out of range: IBM uses the default, without an error
        offset=3,
        pending=True,
        tags=("a", "b"),
        created_after=datetime(2024, 5, 1, 10, tzinfo=UTC),  # no zone: UTC
        descending=False,
        exclude_params=True,
    )


VIEWER = "query-viewer-" + "v" * 20


@pytest.fixture(scope="module")
def relay_jobs(service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The relay's ``/jobs`` of its one source: the service's."""
    home = tmp_path_factory.mktemp("query-relay")
    env = {"QJOB_TUI_RELAY_TOKEN": VIEWER}
    proc = RelayProcess(home, "--source", service.root, "--refresh", "3600", env=env).start()
    try:
        headers = {"Authorization": f"Bearer {VIEWER}"}
        [source] = httpx.get(f"{proc.root}/sources", headers=headers).json()["sources"]
        yield f"{proc.root}/sources/{source['name']}/api/v1/jobs"
    finally:
        proc.stop()


BAD_QUERIES = [
    [("offset", "²")],
    [("offset", "-5")],
    [("offset", "1" * 400)],
    [("limit", "3"), ("limit", "4")],
    [("pending", "\x00")],
    [("sort", "random")],
    [("backend", "x\x07")],
    [("session_id", "s" * 201)],
    [("created_before", "2024-13-01")],
    [("tags", "")] + [("tags", f"tag{n}") for n in range(9)],
]


@pytest.mark.parametrize("params", BAD_QUERIES, ids=[str(n) for n in range(len(BAD_QUERIES))])
def test_the_service_and_the_relay_answer_the_same_400(
    service: ServiceProcess, relay_jobs: str, params: list[tuple[str, str]]
) -> None:
    from_service = httpx.get(f"{service.url}/jobs", params=params, timeout=30)
    from_relay = httpx.get(
        relay_jobs, params=params, headers={"Authorization": f"Bearer {VIEWER}"}, timeout=30
    )
    assert from_service.status_code == from_relay.status_code == 400
    [said_by_service] = from_service.json()["errors"]
    [said_by_relay] = from_relay.json()["errors"]
    assert said_by_service == said_by_relay
    expected = read_job_query(params)
    assert isinstance(expected, QueryRefused) and said_by_relay["message"] == expected.message


def test_the_service_and_the_relay_read_a_good_query_alike(
    service: ServiceProcess, relay_jobs: str
) -> None:
    params = [("limit", "1000"), ("offset", "0"), ("pending", "false"), ("sort", "ASC")]
    from_service = httpx.get(f"{service.url}/jobs", params=params, timeout=30).json()
    headers = {"Authorization": f"Bearer {VIEWER}"}
    from_relay = httpx.get(relay_jobs, params=params, headers=headers, timeout=30).json()
    assert (from_service["limit"], from_service["offset"]) == (DEFAULT_LIMIT, 0)
    assert (from_relay["limit"], from_relay["offset"]) == (DEFAULT_LIMIT, 0)


def test_a_bad_exclude_params_of_one_job_is_the_same_400(
    service: ServiceProcess, relay_jobs: str
) -> None:
    from tests.http_helpers import sampler_body

    job_id = httpx.post(f"{service.url}/jobs", json=sampler_body("fake_cairo"), timeout=30).json()[
        "id"
    ]
    headers = {"Authorization": f"Bearer {VIEWER}"}
    deadline = time.monotonic() + 60
    while httpx.get(f"{relay_jobs}/{job_id}", headers=headers, timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the relay never saw the job"
        time.sleep(0.05)
    params = {"exclude_params": "maybe"}
    from_service = httpx.get(f"{service.url}/jobs/{job_id}", params=params, timeout=30)
    from_relay = httpx.get(f"{relay_jobs}/{job_id}", params=params, headers=headers, timeout=30)
    assert from_service.status_code == from_relay.status_code == 400
    assert from_service.json()["errors"] == from_relay.json()["errors"]
