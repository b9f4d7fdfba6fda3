"""The local service's job endpoints, against a real server on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from qiskit_ibm_runtime import RuntimeDecoder

from tests.http_helpers import BELL, sampler_body, submit, wait_status
from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


def test_sampler_job_runs_to_completion_with_a_decodable_result(client: httpx.Client) -> None:
    job_id = submit(client, shots=200)
    job = wait_status(client, job_id)
    assert job["status"] == "Completed"
    assert job["state"] == {"status": "Completed"}
    assert job["program"] == {"id": "sampler"}
    assert job["backend"] == "basic_simulator"
    result = client.get(f"/jobs/{job_id}/results")
    assert result.status_code == 200
    decoded = json.loads(result.text, cls=RuntimeDecoder)
    counts = decoded[0].data.c.get_counts()
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 200


def test_metrics_record_every_step_in_order(client: httpx.Client) -> None:
    job_id = submit(client)
    wait_status(client, job_id)
    metrics = client.get(f"/jobs/{job_id}/metrics").json()
    stamps = metrics["timestamps"]
    times = [
        datetime.fromisoformat(stamps[k]) for k in ("created", "queued", "running", "finished")
    ]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    assert metrics["usage"]["status"] == "complete"
    assert metrics["usage"]["qpu_charge_time_seconds"] > 0
    assert metrics["num_circuits"] == 1
    assert metrics["position_in_queue"] is None


def test_logs_tell_the_story(client: httpx.Client) -> None:
    job_id = submit(client)
    wait_status(client, job_id)
    text = client.get(f"/jobs/{job_id}/logs").text
    assert "queued on basic_simulator" in text
    assert "running" in text and "completed" in text


def test_unknown_job_is_404_in_ibm_error_shape(client: httpx.Client) -> None:
    for path in ("", "/metrics", "/results", "/logs"):
        response = client.get(f"/jobs/nope{path}")
        assert response.status_code == 404
        body = response.json()
        assert body["errors"][0]["message"] == "Job not found: nope"
        assert {"code", "message", "more_info"} <= set(body["errors"][0])
        assert body["trace"]
    assert client.post("/jobs/nope/cancel").status_code == 404
    assert client.put("/jobs/nope/tags", json={"tags": []}).status_code == 404
    assert client.delete("/jobs/nope").status_code == 404


def test_bad_circuit_fails_with_reason_code_and_solution(client: httpx.Client) -> None:
    job_id = submit(client, circuit="OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n")
    job = wait_status(client, job_id)
    assert job["status"] == "Failed"
    state = job["state"]
    assert state["reason_code"] >= 1000
    assert "foo" in state["reason"]
    assert state["reason_solution"]
    assert client.get(f"/jobs/{job_id}/results").status_code == 204


def test_too_many_qubits_fails_with_a_reason(client: httpx.Client) -> None:
    wide = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[30];\ncreg c[30];\nmeasure q -> c;\n'
    job = wait_status(client, submit(client, circuit=wide))
    assert job["status"] == "Failed"
    assert "30" in job["state"]["reason"] and "qubit" in job["state"]["reason"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"program_id": "nope", "backend": "basic_simulator", "params": {}}, "program_id"),
        (sampler_body(backend="nowhere"), "unknown backend"),
        ({"program_id": "sampler", "backend": "basic_simulator", "params": []}, "params"),
        (sampler_body(tags=[str(i) for i in range(9)]), "at most 8 tags"),
        (sampler_body(name="a\x1b[31m"), "control characters"),
    ],
)
def test_submit_refuses_bad_requests(client: httpx.Client, body: dict, words: str) -> None:
    response = client.post("/jobs", json=body)
    assert response.status_code == 400
    assert words in response.json()["errors"][0]["message"]


def test_submit_refuses_a_body_that_is_not_json(client: httpx.Client) -> None:
    response = client.post("/jobs", content=b"{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"][0]["message"]


def test_tags_are_replaced_whole_and_limits_are_named(client: httpx.Client) -> None:
    job_id = submit(client, tags=["first"])
    assert client.put(f"/jobs/{job_id}/tags", json={"tags": ["a", "b", "a"]}).status_code == 204
    assert client.get(f"/jobs/{job_id}").json()["tags"] == ["a", "b"]
    too_many = client.put(f"/jobs/{job_id}/tags", json={"tags": [str(i) for i in range(9)]})
    assert too_many.status_code == 400
    assert "at most 8 tags" in too_many.json()["errors"][0]["message"]
    too_long = client.put(f"/jobs/{job_id}/tags", json={"tags": ["x" * 87]})
    assert too_long.status_code == 400
    assert "at most 86 characters" in too_long.json()["errors"][0]["message"]
    not_list = client.put(f"/jobs/{job_id}/tags", json={"tags": "a"})
    assert not_list.status_code == 400
    assert client.get(f"/jobs/{job_id}").json()["tags"] == ["a", "b"]
    assert client.put(f"/jobs/{job_id}/tags", json={"tags": []}).status_code == 204
    assert client.get(f"/jobs/{job_id}").json()["tags"] == []


def test_name_is_set_at_submit_and_changed_by_patch(client: httpx.Client) -> None:
    job_id = submit(client, name="first name")
    assert client.get(f"/jobs/{job_id}").json()["name"] == "first name"
    assert client.patch(f"/jobs/{job_id}", json={"name": "second"}).status_code == 204
    assert client.get(f"/jobs/{job_id}").json()["name"] == "second"
    bad = client.patch(f"/jobs/{job_id}", json={"status": "Completed"})
    assert bad.status_code == 400


def test_cancel_a_queued_job_then_409(client: httpx.Client) -> None:
    blocker = submit(client, backend="fake_cairo", shots=20_000)
    queued = submit(client, backend="fake_cairo", shots=10)
    assert client.get(f"/jobs/{queued}").json()["status"] == "Queued"
    assert client.post(f"/jobs/{queued}/cancel").status_code == 204
    job = client.get(f"/jobs/{queued}").json()
    assert job["status"] == "Cancelled"
    again = client.post(f"/jobs/{queued}/cancel")
    assert again.status_code == 409
    assert again.json()["errors"][0]["message"] == "Job is in non cancellable status."
    client.post(f"/jobs/{blocker}/cancel")


def test_cancel_a_running_job_stops_it_and_frees_the_backend(client: httpx.Client) -> None:
    # 100,000 shots (the device's most) at 0.8 ms each would run for over a minute.
    long = submit(client, backend="fake_cairo", shots=100_000)
    wait_status(client, long, ("Running",))
    assert client.post(f"/jobs/{long}/cancel").status_code == 204
    job = wait_status(client, long, timeout=1.0)
    assert job["status"] == "Cancelled"
    follower = submit(client, backend="fake_cairo", shots=10)
    assert wait_status(client, follower)["status"] == "Completed"
    assert client.get(f"/jobs/{long}").json()["status"] == "Cancelled"


def test_queue_position_and_estimates_for_queued_jobs(client: httpx.Client) -> None:
    first = submit(client, backend="fake_cairo", shots=50_000)
    wait_status(client, first, ("Running",))
    second = submit(client, backend="fake_cairo", shots=100)
    third = submit(client, backend="fake_cairo", shots=100)
    m2 = client.get(f"/jobs/{second}/metrics").json()
    m3 = client.get(f"/jobs/{third}/metrics").json()
    assert (m2["position_in_queue"], m3["position_in_queue"]) == (1, 2)
    start2 = datetime.fromisoformat(m2["estimated_start_time"])
    end2 = datetime.fromisoformat(m2["estimated_completion_time"])
    start3 = datetime.fromisoformat(m3["estimated_start_time"])
    assert datetime.now(UTC) < start2 < end2 <= start3
    status = client.get("/backends/fake_cairo/status").json()
    assert status["length_queue"] == 2
    for job_id in (third, second, first):
        client.post(f"/jobs/{job_id}/cancel")


def test_delete_final_and_queued_jobs_not_running_ones(client: httpx.Client) -> None:
    long = submit(client, backend="fake_cairo", shots=100_000)
    wait_status(client, long, ("Running",))
    refused = client.delete(f"/jobs/{long}")
    assert refused.status_code == 409
    assert "terminal state" in refused.json()["errors"][0]["message"]
    queued = submit(client, backend="fake_cairo", shots=10)
    assert client.delete(f"/jobs/{queued}").status_code == 204  # as IBM: cancelled, then gone
    assert client.get(f"/jobs/{queued}").status_code == 404
    assert client.get("/backends/fake_cairo/status").json()["length_queue"] == 0
    client.post(f"/jobs/{long}/cancel")
    assert client.delete(f"/jobs/{long}").status_code == 204
    assert client.get(f"/jobs/{long}").status_code == 404


def test_params_are_returned_unless_excluded(client: httpx.Client) -> None:
    job_id = submit(client)
    assert client.get(f"/jobs/{job_id}").json()["params"]["pubs"][0][0] == BELL
    assert "params" not in client.get(f"/jobs/{job_id}?exclude_params=true").json()


def test_usage_sums_the_charged_time(client: httpx.Client) -> None:
    job_id = submit(client)
    wait_status(client, job_id)
    usage = client.get("/instances/usage").json()
    assert usage["usage_consumed_seconds"] > 0
    assert usage["usage_limit_reached"] is False


def test_backends_and_their_descriptions(client: httpx.Client) -> None:
    devices = {d["name"]: d for d in client.get("/backends").json()["devices"]}
    assert {"basic_simulator", "aer_simulator", "fake_lima", "fake_perth", "fake_cairo"} <= set(
        devices
    )
    assert devices["basic_simulator"]["status"]["name"] == "online"
    assert devices["fake_cairo"]["qubits"] == 27
    status = client.get("/backends/fake_lima/status").json()
    assert status["state"] is True and status["status"] == "active"
    config = client.get("/backends/fake_lima/configuration").json()
    assert config["backend_name"] == "fake_lima"
    assert config["n_qubits"] == 5
    assert [1, 3] in config["coupling_map"]
    props = client.get("/backends/fake_lima/properties").json()
    assert len(props["qubits"]) == 5
    assert client.get("/backends/nowhere/status").status_code == 404


def test_aer_simulator_runs_jobs(client: httpx.Client) -> None:
    job = wait_status(client, submit(client, backend="aer_simulator"))
    assert job["status"] == "Completed"


class TestListing:
    """GET /jobs and its filters, on jobs made for this class."""

    @pytest.fixture(scope="class")
    def made(self, client: httpx.Client) -> dict[str, str]:
        before = datetime.now(UTC) - timedelta(milliseconds=1)
        ids = {
            "a": submit(client, tags=["list-x", "list-y"], shots=10),
            "b": submit(client, tags=["list-x"], shots=10),
            "c": submit(client, backend="fake_lima", tags=["list-y"], shots=10),
        }
        for job_id in ids.values():
            wait_status(client, job_id)
        ids["before"] = before.isoformat()
        time.sleep(0.01)
        return ids

    def test_tags_must_all_match(self, client: httpx.Client, made: dict[str, str]) -> None:
        both = client.get("/jobs", params=[("tags", "list-x"), ("tags", "list-y")]).json()
        assert [j["id"] for j in both["jobs"]] == [made["a"]]
        x = client.get("/jobs", params={"tags": "list-x"}).json()
        assert [j["id"] for j in x["jobs"]] == [made["b"], made["a"]]
        assert x["count"] == 2

    def test_backend_and_program_filters(self, client: httpx.Client, made: dict[str, str]) -> None:
        lima = client.get("/jobs", params={"backend": "fake_lima", "tags": "list-y"}).json()
        assert [j["id"] for j in lima["jobs"]] == [made["c"]]
        none = client.get("/jobs", params={"program": "random-extractor", "tags": "list-y"})
        assert none.json()["jobs"] == []

    def test_sort_limit_offset_and_count(self, client: httpx.Client, made: dict[str, str]) -> None:
        after = {"created_after": made["before"]}
        desc = client.get("/jobs", params=after).json()
        assert [j["id"] for j in desc["jobs"]] == [made["c"], made["b"], made["a"]]
        asc = client.get("/jobs", params={**after, "sort": "ASC"}).json()
        assert [j["id"] for j in asc["jobs"]] == [made["a"], made["b"], made["c"]]
        page = client.get("/jobs", params={**after, "limit": 1, "offset": 1}).json()
        assert [j["id"] for j in page["jobs"]] == [made["b"]]
        assert (page["count"], page["limit"], page["offset"]) == (3, 1, 1)
        clamped = client.get("/jobs", params={**after, "limit": 500}).json()
        assert clamped["limit"] == 200

    def test_created_before_and_pending(self, client: httpx.Client, made: dict[str, str]) -> None:
        early = client.get("/jobs", params={"created_before": made["before"], "tags": "list-x"})
        assert early.json()["jobs"] == []
        pending = client.get("/jobs", params={"pending": "true", "tags": "list-x"}).json()
        assert pending["jobs"] == []
        final = client.get("/jobs", params={"pending": "false", "tags": "list-x"}).json()
        assert len(final["jobs"]) == 2

    @pytest.mark.parametrize(
        ("params", "words"),
        [
            ({"pending": "maybe"}, "pending must be true or false"),
            ({"sort": "sideways"}, "sort must be ASC or DESC"),
            ({"offset": "-1"}, "offset must be within 0.."),
            ({"created_after": "yesterday"}, "created_after must be an ISO 8601"),
        ],
    )
    def test_bad_filters_are_400(self, client: httpx.Client, params: dict, words: str) -> None:
        response = client.get("/jobs", params=params)
        assert response.status_code == 400
        assert words in response.json()["errors"][0]["message"]


def test_the_noise_learner_is_refused_with_the_reason(client: httpx.Client) -> None:
    """No local runner exists for it: IBM's error body says so, instead of "unknown program"."""
    body = {"program_id": "noise-learner", "backend": "fake_perth", "params": {}}
    response = client.post("/jobs", json=body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "bad_request"
    assert "not offered" in error["message"] and "no local runner" in error["message"]
