"""``qjob-tui relay`` over a real local service: one store upstream, many viewers downstream."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.api.http import RetryPolicy
from qjob_tui.model import JobStatus
from qjob_tui.store import JobStore, StoreConfig
from tests.http_helpers import sampler_body, wait_status
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-9876543210"
SLOW = 3600.0
_REQUEST = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^ ?"]*)')


def upstream_requests(service: ServiceProcess) -> list[str]:
    """The API requests the service has answered so far (from its access log)."""
    return [m.group(2) for m in _REQUEST.finditer(service.log.read_text(errors="replace"))]


def job_requests(service: ServiceProcess) -> int:
    """Requests about jobs (the backends are polled on their own clock, viewers or not)."""
    return sum(1 for path in upstream_requests(service) if not path.startswith("/api/v1/back"))


@pytest.fixture(scope="module")
def relay(service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("relay")
    env = {"QJOB_TUI_RELAY_TOKEN": VIEWER, "QJOB_TUI_RELAY_OPERATOR_TOKEN": OPERATOR}
    proc = RelayProcess(home, "--source", service.root, "--refresh", "3600", env=env).start()
    yield proc.root
    proc.stop()


def viewer_store(relay: str, token: str, tmp_path: Path, n: int) -> JobStore:
    name = relay_source_name(relay, token)
    source = Source.local(f"{relay}/sources/{name}/api/v1", token, name=name)
    config = StoreConfig(
        interval=SLOW,
        calm_interval=SLOW,
        streaming_interval=SLOW,
        backend_interval=SLOW,
        cache_dir=tmp_path / f"cache-{n}",
    )
    return JobStore([JobClient(source, policy=RetryPolicy(max_tries=1))], config)


def relay_source_name(relay: str, token: str) -> str:
    answer = httpx.get(f"{relay}/sources", headers={"Authorization": f"Bearer {token}"})
    [source] = answer.json()["sources"]
    return str(source["name"])


async def until(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition never met"
        await asyncio.sleep(0.02)


def test_sources_lists_each_source_and_its_health(relay: str, service: ServiceProcess) -> None:
    headers = {"Authorization": f"Bearer {VIEWER}"}
    [source] = httpx.get(f"{relay}/sources", headers=headers).json()["sources"]
    assert source["name"] == f"127.0.0.1-{service.port}"  # the URL, as a path segment
    assert {"ok", "streaming", "last_error", "last_success"} <= set(source)
    assert httpx.get(f"{relay}/sources").status_code == 401  # a token is needed here


def test_viewers_cannot_act_and_operators_can(relay: str, service: ServiceProcess) -> None:
    name = relay_source_name(relay, VIEWER)
    with httpx.Client(base_url=service.url) as upstream:
        job_id = upstream.post("/jobs", json=sampler_body("fake_cairo", shots=100_000)).json()["id"]
    base = f"{relay}/sources/{name}/api/v1"
    viewer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {VIEWER}"})
    operator = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {OPERATOR}"})
    with viewer, operator:
        while viewer.get(f"/jobs/{job_id}").status_code == 404:  # until the relay has it
            pass
        refused = viewer.post(f"/jobs/{job_id}/cancel")
        assert refused.status_code == 403, refused.text
        assert viewer.put(f"/jobs/{job_id}/tags", json={"tags": ["x"]}).status_code == 403
        assert operator.put(f"/jobs/{job_id}/tags", json={"tags": ["x"]}).status_code == 204
        assert operator.post(f"/jobs/{job_id}/cancel").status_code == 204
    with httpx.Client(base_url=service.url) as upstream:
        job = upstream.get(f"/jobs/{job_id}").json()
    assert job["state"]["status"] == "Cancelled" and job["tags"] == ["x"]


def test_bad_queries_get_a_clear_400(relay: str) -> None:
    name = relay_source_name(relay, VIEWER)
    headers = {"Authorization": f"Bearer {VIEWER}"}
    base = f"{relay}/sources/{name}/api/v1"
    for query in ("sort=x", "offset=-1", "pending=maybe", "created_after=yesterday"):
        answer = httpx.get(f"{base}/jobs?{query}", headers=headers)
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["errors"][0]["message"]
    assert httpx.get(f"{relay}/sources/nope/api/v1/jobs", headers=headers).status_code == 404
    # A limit out of range is IBM's default, without an error, as at the service.
    assert httpx.get(f"{base}/jobs?limit=x", headers=headers).json()["limit"] == 200


async def watch_one_job_through(
    stores: list[JobStore], service: ServiceProcess, upstream: httpx.AsyncClient
) -> None:
    """Submit a job upstream, cancel it, and wait until every viewer has seen it cancelled."""
    job_id = (await upstream.post("/jobs", json=sampler_body("fake_cairo", shots=100_000))).json()[
        "id"
    ]
    await until(lambda: all(s.job((s.health[0].source, job_id)) is not None for s in stores))
    await upstream.post(f"/jobs/{job_id}/cancel")

    def cancelled(store: JobStore) -> bool:
        job = store.job((store.health[0].source, job_id))
        return job is not None and job.status is JobStatus.CANCELLED

    await until(lambda: all(cancelled(s) for s in stores))


async def test_five_viewers_cost_upstream_no_more_than_one(
    relay: str, service: ServiceProcess, tmp_path: Path
) -> None:
    first = viewer_store(relay, VIEWER, tmp_path, 0)
    others = [viewer_store(relay, VIEWER, tmp_path, n) for n in range(1, 5)]
    async with httpx.AsyncClient(base_url=service.url) as upstream:
        await first.start()
        try:
            await until(lambda: first.health[0].streaming)
            before_one = job_requests(service)
            await watch_one_job_through([first], service, upstream)
            with_one = job_requests(service) - before_one
            for store in others:
                await store.start()
            await until(lambda: all(s.health[0].streaming for s in others))
            before_five = job_requests(service)
            await watch_one_job_through([first, *others], service, upstream)
            with_five = job_requests(service) - before_five
        finally:
            for store in [first, *others]:
                await store.stop()
    # Our own submit and cancel are in both counts (so the log is read right); the relay adds
    # nothing per viewer.
    assert with_one >= 2, with_one
    assert with_five <= with_one, (with_one, with_five)
    # ... and the viewers really were served by the relay.
    assert all(s.pollers[s.health[0].source].client.stats.requests > 0 for s in others)


async def test_dashboard_on_a_relay_shows_its_sources_and_upstream_health(
    relay: str, service: ServiceProcess, tmp_path: Path
) -> None:
    from qjob_tui.api.relay import relay_sources
    from qjob_tui.ui.app import QJobApp
    from qjob_tui.ui.status.status_line import StatusLine

    sources = relay_sources(relay, VIEWER)
    assert [s.name for s in sources] == [f"127.0.0.1-{service.port}"]
    config = StoreConfig(cache_dir=tmp_path / "cache", streaming_interval=SLOW)
    store = JobStore([JobClient(source) for source in sources], config)
    app = QJobApp(store, readonly=True)
    async with app.run_test(size=(160, 40)) as pilot:
        status = app.query_one(StatusLine)
        # The relay's source is live, and so is the relay's own upstream (the service).
        await until(lambda: f"127.0.0.1-{service.port} ok · upstream live" in status._shown)
        await pilot.pause()


def test_params_logs_and_results_are_read_upstream_once_for_all_viewers(
    relay: str, service: ServiceProcess
) -> None:
    name = relay_source_name(relay, VIEWER)
    headers = {"Authorization": f"Bearer {VIEWER}"}
    with httpx.Client(base_url=service.url) as upstream:
        job_id = upstream.post("/jobs", json=sampler_body()).json()["id"]
        wait_status(upstream, job_id)
        params = upstream.get(f"/jobs/{job_id}", params={"exclude_params": "false"}).json()
        log = upstream.get(f"/jobs/{job_id}/logs").text
        result = upstream.get(f"/jobs/{job_id}/results").text
    with httpx.Client(base_url=f"{relay}/sources/{name}/api/v1", headers=headers) as viewer:
        while viewer.get(f"/jobs/{job_id}").json().get("status") != "Completed":
            pass  # until the relay's store has it finished
        assert "params" not in viewer.get(f"/jobs/{job_id}").json()
        before = upstream_requests(service)
        for _ in range(3):  # three viewers' Circuit, Log and Result tabs
            body = viewer.get(f"/jobs/{job_id}", params={"exclude_params": "false"}).json()
            assert body["params"] == params["params"]
            assert viewer.get(f"/jobs/{job_id}/logs").text == log
            assert viewer.get(f"/jobs/{job_id}/results").text == result
        asked = upstream_requests(service)[len(before) :]
    assert log.strip()  # the service writes a log: an empty answer would prove nothing
    assert sorted(p for p in asked if job_id in p) == sorted(
        [f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/logs", f"/api/v1/jobs/{job_id}/results"]
    )


def test_a_private_jobs_result_is_left_to_its_owner(relay: str, service: ServiceProcess) -> None:
    """The service deletes a private job's result as it is read: a viewer of the relay read it
    for everyone (and the owner then found it gone). The relay refuses to read it."""
    name = relay_source_name(relay, VIEWER)
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    with httpx.Client(base_url=service.url) as upstream:
        job_id = upstream.post("/jobs", json=sampler_body(private=True)).json()["id"]
        wait_status(upstream, job_id)
        with httpx.Client(base_url=f"{relay}/sources/{name}/api/v1", headers=headers) as viewer:
            while viewer.get(f"/jobs/{job_id}").json().get("status") != "Completed":
                pass  # until the relay's store has it finished
            refused = viewer.get(f"/jobs/{job_id}/results")
            assert refused.status_code == 403
            assert "only once, by its owner" in refused.json()["errors"][0]["message"]
        owned = upstream.get(f"/jobs/{job_id}/results")
        assert owned.status_code == 200 and owned.text  # still there for its owner


def test_sessions_are_served_from_the_store_and_only_operators_close_them(
    relay: str, service: ServiceProcess
) -> None:
    name = relay_source_name(relay, VIEWER)
    base = f"{relay}/sources/{name}/api/v1"
    with httpx.Client(base_url=service.url) as upstream:
        session_id = upstream.post("/sessions", json={"mode": "batch", "backend": "fake_cairo"})
        session_id = session_id.json()["id"]
        body = sampler_body("fake_cairo", shots=100_000, session_id=session_id)
        assert upstream.post("/jobs", json=body).status_code == 200
    viewer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {VIEWER}"})
    operator = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {OPERATOR}"})
    with viewer, operator:
        while (answer := viewer.get(f"/sessions/{session_id}")).status_code in (404, 503):
            # Until the relay lists the new job (404: no job it knows names the session), then
            # reads its session (503 not_read_yet).
            pass
        assert answer.status_code == 200, answer.text
        assert (answer.json()["mode"], answer.json()["accepting_jobs"]) == ("batch", True)
        closing = {"accepting_jobs": False}
        assert viewer.patch(f"/sessions/{session_id}", json=closing).status_code == 403
        refused = operator.patch(f"/sessions/{session_id}", json={"accepting_jobs": True})
        assert refused.status_code == 400 and "closed" in refused.text
        assert operator.patch(f"/sessions/{session_id}", json=closing).status_code == 204
        assert viewer.get("/sessions/nope").status_code == 404
    with httpx.Client(base_url=service.url) as upstream:
        assert upstream.get(f"/sessions/{session_id}").json()["accepting_jobs"] is False
        for job in upstream.get("/jobs", params={"session_id": session_id}).json()["jobs"]:
            upstream.post(f"/jobs/{job['id']}/cancel")


@pytest.mark.parametrize("name", ["bad\x00name", "x" * 121])
def test_a_name_upstream_would_refuse_is_a_400_at_the_relay_too(
    relay: str, service: ServiceProcess, name: str
) -> None:
    source = relay_source_name(relay, VIEWER)
    with httpx.Client(base_url=service.url) as upstream:
        job_id = upstream.post("/jobs", json=sampler_body()).json()["id"]
        said = upstream.patch(f"/jobs/{job_id}", json={"name": name})
    assert said.status_code == 400
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    base = f"{relay}/sources/{source}/api/v1"
    with httpx.Client(base_url=base, headers=headers) as operator:
        while operator.get(f"/jobs/{job_id}").status_code == 404:
            pass  # until the relay's store has the job
        answer = operator.patch(f"/jobs/{job_id}", json={"name": name})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == said.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('{"name": 123}', "name must be a string"),
        ('{"name": ["a"]}', "name must be a string"),
        ('{"name": "\\ud800"}', "lone surrogate"),  # JSON's escape, as a client may send it
    ],
)
def test_a_bad_name_is_a_400_that_says_why(
    relay: str, service: ServiceProcess, body: str, said: str
) -> None:
    source = relay_source_name(relay, VIEWER)
    with httpx.Client(base_url=service.url) as upstream:
        job_id = upstream.post("/jobs", json=sampler_body()).json()["id"]
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    base = f"{relay}/sources/{source}/api/v1"
    with httpx.Client(base_url=base, headers=headers) as operator:
        while operator.get(f"/jobs/{job_id}").status_code == 404:
            pass  # until the relay's store has the job
        answer = operator.patch(
            f"/jobs/{job_id}", content=body, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 400
    assert said in answer.json()["errors"][0]["message"]
