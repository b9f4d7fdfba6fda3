"""``GET /workloads``: jobs and sessions in one list, filtered and paged by cursors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def made(client: httpx.Client) -> dict[str, Any]:
    """Three plain jobs, a session with two jobs and a batch with one, all finished."""
    jobs = [submit(client, shots=10, tags=["wl", f"wl-{i}"]) for i in range(3)]  # basic_simulator
    session = client.post("/sessions", json={"mode": "dedicated", "backend": "fake_lima"}).json()
    batch = client.post("/sessions", json={"mode": "batch", "backend": "fake_perth"}).json()
    inside = [
        submit(client, backend="fake_lima", shots=10, session_id=session["id"], tags=["in-s"]),
        submit(client, backend="fake_lima", shots=10, session_id=session["id"]),
        submit(client, backend="fake_perth", shots=10, session_id=batch["id"]),
    ]
    for job_id in jobs + inside:
        wait_status(client, job_id)
    client.patch(f"/sessions/{batch['id']}", json={"accepting_jobs": False})
    return {"jobs": jobs, "session": session["id"], "batch": batch["id"], "inside": inside}


def workloads(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/workloads", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_jobs_and_sessions_in_one_list_newest_first(
    client: httpx.Client, made: dict[str, Any]
) -> None:
    body = workloads(client, limit=50)
    ids = [w["id"] for w in body["workloads"]]
    assert set(ids) == {*made["jobs"], made["session"], made["batch"]}
    assert not set(made["inside"]) & set(ids)  # a session's jobs are found through it
    created = [w["created"] for w in body["workloads"]]
    assert created == sorted(created, reverse=True)
    assert body["total_count"] == 5 and body["limit"] == 50
    assert body["next"] is None and body["previous"] is None
    by_id = {w["id"]: w for w in body["workloads"]}
    job = by_id[made["jobs"][0]]
    assert job["mode"] == "job" and job["status"] == "completed"
    assert job["usage"]["status"] == "complete" and job["usage"]["qpu_charge_time_seconds"] > 0
    assert job["user_id"] == "local-user" and job["ended"] is not None
    session = by_id[made["session"]]
    assert session["mode"] == "session" and session["status"] == "in_progress"
    assert session["accepting_jobs"] is True and session["backend"] == "fake_lima"
    assert session["tags"] == ["in-s"]
    batch = by_id[made["batch"]]
    assert batch["mode"] == "batch" and batch["status"] == "completed"
    assert batch["ended"] is not None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"mode": "job"}, {"jobs"}),
        ({"mode": "session"}, {"session"}),
        ({"mode": "batch"}, {"batch"}),
        ({"status": ["completed"]}, {"jobs", "batch"}),
        ({"status[]": ["in_progress", "pending"]}, {"session"}),
        ({"backend": "fake_lima"}, {"session"}),
        ({"tags": ["wl"]}, {"jobs"}),
        ({"tags[]": ["in-s"]}, {"session"}),
        ({"user": "me"}, {"jobs", "session", "batch"}),
        ({"user": "somebody-else"}, set()),
    ],
)
def test_filters(
    client: httpx.Client, made: dict[str, Any], params: dict[str, Any], expected: set[str]
) -> None:
    want: set[str] = set()
    for name in expected:
        want |= set(made[name]) if name == "jobs" else {made[name]}
    body = workloads(client, limit=50, **params)
    assert {w["id"] for w in body["workloads"]} == want
    assert body["total_count"] == len(want)


def test_search_and_created_bounds(client: httpx.Client, made: dict[str, Any]) -> None:
    first = made["jobs"][0]
    assert [w["id"] for w in workloads(client, search=first[3:12])["workloads"]] == [first]
    assert {w["id"] for w in workloads(client, search="WL-1")["workloads"]} == {made["jobs"][1]}
    created = client.get(f"/jobs/{made['jobs'][1]}").json()["created"]
    after = {w["id"] for w in workloads(client, limit=50, created_after=created)["workloads"]}
    assert made["jobs"][2] in after and made["jobs"][1] not in after
    assert made["jobs"][0] not in after


def test_cursor_paging_both_ways(client: httpx.Client, made: dict[str, Any]) -> None:
    for sort in ("-createdAt", "createdAt"):
        full = [w["id"] for w in workloads(client, limit=50, sort=sort)["workloads"]]
        pages: list[list[str]] = []
        params: dict[str, Any] = {"limit": 2, "sort": sort}
        body = workloads(client, **params)
        while True:
            pages.append([w["id"] for w in body["workloads"]])
            if body["next"] is None:
                break
            assert body["next"]["href"].startswith("http")
            body = workloads(client, **params, next=body["next"]["cursor"])
        assert [i for page in pages for i in page] == full
        assert [len(p) for p in pages] == [2, 2, 1]
        back = workloads(client, **params, previous=body["previous"]["cursor"])
        assert [w["id"] for w in back["workloads"]] == pages[1]
        assert back["next"] is not None and back["previous"] is not None


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 51},
        {"limit": "ten"},
        {"sort": "created"},
        {"mode": "dedicated"},
        {"status": "done"},
        {"next": "not-a-cursor"},
        {"created_after": "yesterday"},
    ],
)
def test_bad_queries_are_refused(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get("/workloads", params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("name", ["created_after", "limit", "sort", "next", "user", "search"])
def test_a_single_parameter_given_twice_is_refused(client: httpx.Client, name: str) -> None:
    """As the job list's rules have it: a repeated bound is not silently read as one of them."""
    values = {
        "created_after": ["2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z"],
        "limit": ["1", "2"],
        "sort": ["createdAt", "-createdAt"],
        "next": ["a", "b"],
        "user": ["me", "someone"],
        "search": ["x", "y"],
    }[name]
    response = client.get("/workloads", params=[(name, value) for value in values])
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == f"{name} can be given once, not 2 times"


def test_the_list_filters_may_repeat(client: httpx.Client, made: dict[str, Any]) -> None:
    response = client.get("/workloads", params=[("tags", "wl"), ("tags", "wl-0")])
    assert response.status_code == 200
    assert [w["id"] for w in response.json()["workloads"]] == [made["jobs"][0]]
