"""Sessions and batches of the local service, as IBM's REST API has them, on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dateutil.parser import isoparse

from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess

LONG_SHOTS = 100_000  # about 80 s on fake_cairo at latency scale 0.2: cancelled, never awaited


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


def open_session(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/sessions", json={"mode": "dedicated", **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


def details(client: httpx.Client, session_id: str) -> dict[str, Any]:
    response = client.get(f"/sessions/{session_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_session(
    client: httpx.Client,
    session_id: str,
    condition: Callable[[dict[str, Any]], bool],
    timeout: float = 60,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        session = details(client, session_id)
        if condition(session):
            return session
        if time.monotonic() > deadline:
            raise AssertionError(f"session {session_id} never matched: {session}")
        time.sleep(0.05)


def started(client: httpx.Client, job_id: str) -> Any:
    return isoparse(client.get(f"/jobs/{job_id}/metrics").json()["timestamps"]["running"])


def test_a_new_session_has_ibms_fields(client: httpx.Client) -> None:
    session = open_session(client, backend="fake_lima", max_ttl=600)
    assert session["id"]
    assert session["backend_name"] == "fake_lima"
    assert session["mode"] == "dedicated"
    assert session["state"] == "open"
    assert session["accepting_jobs"] is True
    assert session["max_ttl"] == 600
    assert session["active_ttl"] == 600
    assert session["interactive_ttl"] == 60
    for key in ("started_at", "activated_at", "closed_at", "last_job_started"):
        assert session[key] is None
    assert session["elapsed_time"] == 0
    assert [t["status"] for t in session["timestamps"]] == ["open"]
    assert details(client, session["id"]) == session | {"elapsed_time": 0}


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"mode": "exclusive"}, "mode"),
        ({"backend": "no_such_device"}, "unknown backend"),
        ({"max_ttl": 0}, "max_ttl"),
        ({"max_ttl": 100_000}, "max_ttl"),
        ({"max_ttl": "1h"}, "max_ttl"),
        ({"interactive_ttl": True}, "interactive_ttl"),
    ],
)
def test_bad_session_requests_are_refused(
    client: httpx.Client, body: dict[str, Any], word: str
) -> None:
    response = client.post("/sessions", json={"backend": "fake_lima", **body})
    assert response.status_code == 400
    assert word in response.json()["errors"][0]["message"]


def test_unknown_sessions_and_bad_updates(client: httpx.Client) -> None:
    assert client.get("/sessions/nosuchsession").status_code == 404
    assert client.delete("/sessions/nosuchsession/close").status_code == 404
    session = open_session(client, backend="fake_lima")
    bad = client.patch(f"/sessions/{session['id']}", json={"backend": "fake_perth"})
    assert bad.status_code == 400
    unknown = client.post(
        "/jobs",
        json={
            "program_id": "sampler",
            "backend": "fake_lima",
            "session_id": "nosuch",
            "params": {"pubs": []},
        },
    )
    assert unknown.status_code == 400
    assert "session_id" in unknown.json()["errors"][0]["message"]


def test_a_job_takes_its_sessions_backend_and_is_listed_by_session(client: httpx.Client) -> None:
    session = open_session(client, backend="fake_perth")
    response = client.post(
        "/jobs",
        json={
            "program_id": "sampler",
            "session_id": session["id"],
            "params": {"pubs": [[_bell(), None, 50]], "version": 2},
        },
    )
    assert response.status_code == 200, response.text
    job_id = response.json()["id"]
    assert response.json()["backend"] == "fake_perth"
    assert response.json()["session_id"] == session["id"]
    other = submit(client, backend="fake_perth", shots=10)
    job = wait_status(client, job_id)
    assert job["session_id"] == session["id"]
    listed = client.get("/jobs", params={"session_id": session["id"]}).json()["jobs"]
    assert [j["id"] for j in listed] == [job_id]
    elsewhere = client.post(
        "/jobs",
        json={
            "program_id": "sampler",
            "backend": "fake_lima",
            "session_id": session["id"],
            "params": {"pubs": [[_bell(), None, 10]], "version": 2},
        },
    )
    assert elsewhere.status_code == 400
    assert "fake_perth" in elsewhere.json()["errors"][0]["message"]
    client.patch(f"/sessions/{session['id']}", json={"accepting_jobs": False})
    wait_status(client, other)


def test_a_dedicated_session_holds_its_backend_between_its_jobs(client: httpx.Client) -> None:
    session = open_session(client, backend="fake_perth", interactive_ttl=120)
    sid = session["id"]
    first = submit(client, backend="fake_perth", shots=50, session_id=sid)
    wait_status(client, first)
    active = details(client, sid)
    assert active["state"] == "active"
    assert active["started_at"] and active["activated_at"] and active["last_job_completed"]
    outsider = submit(client, backend="fake_perth", shots=50)
    second = submit(client, backend="fake_perth", shots=50, session_id=sid)
    wait_status(client, second)
    # The session still holds the backend: the outsider, though older, waits.
    assert client.get(f"/jobs/{outsider}").json()["status"] == "Queued"
    assert client.patch(f"/sessions/{sid}", json={"accepting_jobs": False}).status_code == 204
    closed = wait_session(client, sid, lambda s: s["state"] == "closed")
    assert closed["accepting_jobs"] is False
    assert "closed by the user" in closed["state_reason"]
    assert closed["closed_at"] is not None
    assert closed["elapsed_time"] > 0
    assert [t["status"] for t in closed["timestamps"]] == ["open", "active", "closed"]
    wait_status(client, outsider)
    assert started(client, second) < started(client, outsider)
    refused = client.post(
        "/jobs",
        json={
            "program_id": "sampler",
            "session_id": sid,
            "params": {"pubs": [[_bell(), None, 10]], "version": 2},
        },
    )
    assert refused.status_code == 409
    assert "closed" in refused.json()["errors"][0]["message"]


def test_an_idle_dedicated_session_goes_inactive_and_frees_its_backend(
    client: httpx.Client,
) -> None:
    session = open_session(client, backend="fake_lima", interactive_ttl=1)
    sid = session["id"]
    wait_status(client, submit(client, backend="fake_lima", shots=20, session_id=sid))
    inactive = wait_session(client, sid, lambda s: s["state"] == "inactive")
    assert "interactive TTL" in inactive["state_reason"]
    assert inactive["accepting_jobs"] is True
    # A new job reactivates it.
    wait_status(client, submit(client, backend="fake_lima", shots=20, session_id=sid))
    again = wait_session(client, sid, lambda s: s["state"] in ("active", "inactive"))
    statuses = [t["status"] for t in again["timestamps"]]
    assert statuses[:4] == ["open", "active", "inactive", "active"]


def test_a_batchs_jobs_interleave_with_others(client: httpx.Client) -> None:
    batch = client.post("/sessions", json={"mode": "batch", "backend": "fake_lima"}).json()
    assert batch["mode"] == "batch"
    blocker = submit(client, backend="fake_lima", shots=2000)  # keeps the order of the rest
    first = submit(client, backend="fake_lima", shots=20, session_id=batch["id"])
    outsider = submit(client, backend="fake_lima", shots=20)
    second = submit(client, backend="fake_lima", shots=20, session_id=batch["id"])
    for job_id in (blocker, first, outsider, second):
        wait_status(client, job_id)
    assert started(client, first) < started(client, outsider) < started(client, second)
    done = details(client, batch["id"])
    assert done["elapsed_time"] > 0
    client.patch(f"/sessions/{batch['id']}", json={"accepting_jobs": False})
    assert wait_session(client, batch["id"], lambda s: s["state"] == "closed")["closed_at"]


def test_cancelling_a_session_cancels_its_queued_jobs(client: httpx.Client) -> None:
    session = open_session(client, backend="fake_cairo")
    sid = session["id"]
    running = submit(client, backend="fake_cairo", shots=LONG_SHOTS, session_id=sid)
    queued = submit(client, backend="fake_cairo", shots=10, session_id=sid)
    wait_status(client, running, ("Running",))
    assert client.delete(f"/sessions/{sid}/close").status_code == 204
    cancelled = wait_status(client, queued)
    assert cancelled["status"] == "Cancelled"
    assert client.get(f"/jobs/{running}").json()["status"] == "Running"
    pending = details(client, sid)
    assert pending["accepting_jobs"] is False
    assert pending["state"] == "active"
    assert client.post(f"/jobs/{running}/cancel").status_code == 204
    closed = wait_session(client, sid, lambda s: s["state"] == "closed")
    assert "cancelled by the user" in closed["state_reason"]


def test_the_max_ttl_closes_a_session_with_its_reason(client: httpx.Client) -> None:
    session = open_session(client, backend="fake_cairo", mode="batch", max_ttl=1)
    sid = session["id"]
    running = submit(client, backend="fake_cairo", shots=LONG_SHOTS, session_id=sid)
    queued = submit(client, backend="fake_cairo", shots=10, session_id=sid)
    wait_status(client, running, ("Running",))
    cancelled = wait_status(client, queued)
    assert cancelled["status"] == "Cancelled"
    assert "max TTL" in cancelled["state"]["reason"]
    expired = details(client, sid)
    assert expired["accepting_jobs"] is False
    assert "max TTL" in expired["state_reason"]
    client.post(f"/jobs/{running}/cancel")
    closed = wait_session(client, sid, lambda s: s["state"] == "closed")
    assert "max TTL" in closed["state_reason"]


def test_sessions_outlive_a_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("sessions-restart")
    proc = ServiceProcess(data, "--latency-scale", "0").start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as c:
            sid = open_session(c, backend="fake_lima", max_ttl=900)["id"]
            wait_status(c, submit(c, backend="fake_lima", shots=10, session_id=sid))
            before = wait_session(c, sid, lambda s: s["last_job_completed"] is not None)
        proc.stop()
        proc.start()
        with httpx.Client(base_url=proc.url, timeout=30) as c:
            after = details(c, sid)
        for key in ("mode", "backend_name", "max_ttl", "started_at", "last_job_completed"):
            assert after[key] == before[key]
    finally:
        proc.stop()


def _bell() -> str:
    from tests.http_helpers import BELL

    return BELL
