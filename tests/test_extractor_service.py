"""The local service's ``random-extractor`` program, against a real server on loopback.

Every extraction is checked bit for bit against ``qjob_tui.extract`` run here on the same
inputs; every refusal must fail the job with a reason, a code and a solution.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qiskit_ibm_runtime import RuntimeDecoder

from qjob_tui.extract import (
    ExtractorParams,
    bits_to_bytes,
    dodis,
    ext1_input_num_bits,
    ext1_output_num_bits,
    ext2_parameters,
    hayashi,
    quality_report,
    run_cqc_extractor,
    to_hex,
)
from qjob_tui.service.db import JobRow
from qjob_tui.service.demo import _catalogue, extract_when_done, random_bits
from qjob_tui.service.programs.extractor import MAX_INPUT_BITS
from qjob_tui.wire.extractor import decode_extractor_result
from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess

N, M = 1019, 300  # 1019 is a prime with 2 as a primitive root
A, C = 100, 4  # 101 is a prime with 2 as a primitive root


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


def b64(bits: np.ndarray) -> str:
    return base64.standard_b64encode(bits_to_bytes(bits)).decode()


def random(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.integers(0, 2, size=size, dtype=np.uint8)


def extract(client: httpx.Client, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Submit an extractor job and wait for it to end; returns the job."""
    body = {"program_id": "random-extractor", "params": params, **extra}
    response = client.post("/jobs", json=body)
    assert response.status_code == 200, response.text
    return wait_status(client, response.json()["id"])


def extracted(client: httpx.Client, params: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """The output bits and the result JSON of a job that must complete."""
    job = extract(client, params)
    assert job["status"] == "Completed", job["state"]
    body = json.loads(client.get(f"/jobs/{job['id']}/results").text)
    packed = np.frombuffer(base64.b64decode(body["bits"]), dtype=np.uint8)
    bits = np.unpackbits(packed, count=body["num_bits"], bitorder="little")
    assert len(packed) == -(-body["num_bits"] // 8)
    return bits, body


def ext1_params(x: np.ndarray, y: np.ndarray | None = None, m: int = M) -> dict[str, Any]:
    params: dict[str, Any] = {
        "method": "ext1",
        "ext1_input_num_bits": x.size,
        "ext1_output_num_bits": m,
        "ext1_raw_bytes": b64(x),
    }
    if y is not None:
        params["ext1_wsr_bytes"] = b64(y)
    return params


def hadamard_job(client: httpx.Client, qubits: int = 8, shots: int = 512) -> str:
    job_id = submit(client, circuit=random_bits(qubits), shots=shots)
    assert wait_status(client, job_id)["status"] == "Completed"
    return job_id


def sampler_bits(client: httpx.Client, job_id: str) -> np.ndarray:
    """A sampler job's measured bits read with IBM's own decoder: per shot, clbit 0 first."""
    decoded = json.loads(client.get(f"/jobs/{job_id}/results").text, cls=RuntimeDecoder)
    bit_array = decoded[0].data.c
    rows = [[int(b) for b in reversed(s)] for s in bit_array.get_bitstrings()]
    return np.array(rows, dtype=np.uint8).reshape(-1)


# --- raw bytes in, the same bits as the extractors run here --------------------------------


def test_ext1_from_bytes_equals_dodis(client: httpx.Client) -> None:
    rng = np.random.default_rng(1)
    x, y = random(rng, N), random(rng, N)
    bits, body = extracted(client, ext1_params(x, y))
    assert np.array_equal(bits, dodis(x, y, M))
    assert body["program"] == "random-extractor" and body["version"] == 1
    assert body["method"] == "ext1" and body["num_bits"] == M
    assert body["hex"] == to_hex(bits)
    assert body["parameters"] == {
        "ext1_input_num_bits": N,
        "ext1_output_num_bits": M,
        "inputs": {"ext1_raw": "params", "ext1_wsr": "params"},
    }
    expected = quality_report(bits)
    assert [q["name"] for q in body["quality"]] == [c.name for c in expected]
    assert [q["p_value"] for q in body["quality"]] == pytest.approx([c.p_value for c in expected])
    assert [q["passed"] for q in body["quality"]] == [c.passed for c in expected]


def test_ext2_from_bytes_equals_hayashi(client: httpx.Client) -> None:
    rng = np.random.default_rng(2)
    seed, wsr = random(rng, A), random(rng, A * C)
    params = {
        "method": "ext2",
        "ext2_seed_num_bits": A,
        "ext2_wsr_multiplier": C,
        "ext2_seed_bytes": b64(seed),
        "ext2_wsr_bytes": b64(wsr),
    }
    bits, body = extracted(client, params)
    assert np.array_equal(bits, hayashi(wsr, seed))
    assert body["num_bits"] == (C - 1) * A
    assert body["parameters"]["inputs"] == {"ext2_seed": "params", "ext2_wsr": "params"}
    assert body["parameters"]["ext2_output_num_bits"] == (C - 1) * A


def test_both_from_bytes_chains_like_cqc_extractor_run(client: httpx.Client) -> None:
    rng = np.random.default_rng(3)
    x, y, wsr2 = random(rng, N), random(rng, N), random(rng, A * C)
    params = {
        **ext1_params(x, y),
        "method": "both",
        "ext2_seed_num_bits": A,
        "ext2_wsr_multiplier": C,
        "ext2_wsr_bytes": b64(wsr2),
    }
    bits, body = extracted(client, params)
    out1 = dodis(x, y, M)
    assert np.array_equal(bits, np.concatenate([out1, hayashi(wsr2, out1[:A])]))
    old = ExtractorParams(N, M, bits_to_bytes(x), bits_to_bytes(y), A, C)
    assert np.array_equal(bits, run_cqc_extractor(old, ext2_wsr=wsr2))
    assert body["parameters"]["inputs"]["ext2_seed"] == "ext1_output"
    assert "hex" not in body or len(body["hex"]) == 2 * -(-bits.size // 8)


def test_generated_wsr_comes_from_the_recorded_seed(client: httpx.Client) -> None:
    rng = np.random.default_rng(4)
    x = random(rng, N)
    params = {**ext1_params(x), "method": "both", "wsr_seed": 1234}
    bits, body = extracted(client, params)
    used = body["parameters"]
    a, c = ext2_parameters(M, 0.95, 1e-30 / 2)
    assert (used["ext2_seed_num_bits"], used["ext2_wsr_multiplier"]) == (a, c)
    assert used["wsr_seed"] == 1234
    assert used["inputs"] == {
        "ext1_raw": "params",
        "ext1_wsr": "generated",
        "ext2_seed": "ext1_output",
        "ext2_wsr": "generated",
    }
    gen = np.random.default_rng(1234)  # ext1's WSR first, then ext2's
    y = gen.integers(0, 2, size=N, dtype=np.uint8)
    wsr2 = gen.integers(0, 2, size=a * c, dtype=np.uint8)
    out1 = dodis(x, y, M)
    assert np.array_equal(bits, np.concatenate([out1, hayashi(wsr2, out1[:a])]))
    # Without a seed the service picks one and records it.
    _, again = extracted(client, ext1_params(x))
    assert isinstance(again["parameters"]["wsr_seed"], int)


# --- a finished sampler job as the raw source ----------------------------------------------


@pytest.mark.parametrize(("qubits", "shots"), [(8, 512), (10, 400)])
def test_ext1_over_a_sampler_job_derives_n_and_m(
    client: httpx.Client, qubits: int, shots: int
) -> None:
    raw_job = hadamard_job(client, qubits, shots)
    params = {"method": "ext1", "raw_job": raw_job, "wsr_seed": 9}
    bits, body = extracted(client, params)
    raw = sampler_bits(client, raw_job)
    assert raw.size == qubits * shots
    n = ext1_input_num_bits(raw.size)
    rate_bt = (raw.size * 0.9 - (raw.size - n)) / n
    m = ext1_output_num_bits(n, rate_bt, 0.95, 1e-30 / 2)
    used = body["parameters"]
    assert used["ext1_input_num_bits"] == n == used["raw_bits_used"]
    assert used["ext1_output_num_bits"] == m == body["num_bits"] == bits.size
    assert used["raw_job"] == raw_job and used["raw_bits_available"] == raw.size
    assert (used["rate_bt"], used["rate_sv"], used["epsilon_sec"]) == (0.9, 0.95, 1e-30)
    assert used["rate_bt_used"] == pytest.approx(rate_bt)
    assert used["quantum_proof"] is False
    assert used["inputs"] == {"ext1_raw": "raw_job", "ext1_wsr": "generated"}
    y = np.random.default_rng(9).integers(0, 2, size=n, dtype=np.uint8)
    assert np.array_equal(bits, dodis(raw[:n], y, m))


def test_both_over_a_sampler_job_with_given_rates(client: httpx.Client) -> None:
    raw_job = hadamard_job(client, qubits=4, shots=600)
    params = {"method": "both", "raw_job": raw_job, "rate_bt": 0.95, "rate_sv": 0.9}
    params["epsilon_sec"] = 1e-20
    job = extract(client, params)
    assert job["status"] == "Completed", job["state"]
    result = decode_extractor_result(client.get(f"/jobs/{job['id']}/results").text)
    used = result.params
    n = ext1_input_num_bits(2400)
    rate_bt = (2400 * 0.95 - (2400 - n)) / n
    m = ext1_output_num_bits(n, rate_bt, 0.9, 1e-20 / 2)
    a, c = ext2_parameters(m, 0.9, 1e-20 / 2)
    assert (used["ext1_input_num_bits"], used["ext1_output_num_bits"]) == (n, m)
    assert (used["ext2_seed_num_bits"], used["ext2_wsr_multiplier"]) == (a, c)
    assert result.method == "both" and result.num_bits == m + (c - 1) * a
    assert 0 < used["epsilon_ext2"] <= 1e-20 / 2
    assert result.inputs["ext1_raw"] == "raw_job"


def test_extractor_jobs_default_to_the_exact_simulators_queue(client: httpx.Client) -> None:
    rng = np.random.default_rng(5)
    job = extract(client, ext1_params(random(rng, 11), m=5))
    assert job["backend"] == "basic_simulator" and job["program"] == {"id": "random-extractor"}
    other = extract(client, ext1_params(random(rng, 11), m=5), backend="fake_lima")
    assert other["backend"] == "fake_lima" and other["status"] == "Completed"


# --- refusals ------------------------------------------------------------------------------

_X = np.random.default_rng(6).integers(0, 2, size=N, dtype=np.uint8)
_OK = ext1_params(_X)


def _with(**changes: Any) -> dict[str, Any]:
    params = {**_OK, **changes}
    return {k: v for k, v in params.items() if v is not None}


_EXT2 = {
    "method": "ext2",
    "ext2_seed_num_bits": A,
    "ext2_wsr_multiplier": C,
    "ext2_seed_bytes": b64(np.zeros(A, np.uint8)),
}


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"ext1_input_num_bits": N}, 1500, "params.method must be"),
        ({"method": "ext1"}, 1500, "needs ext1's input, and the params give none"),
        (_with(method="both", rate_sv=0.9999999), 1510, "too close to 1"),
        (_with(method="ext3"), 1500, "params.method must be"),
        (_with(ext1_output_num_bits=None), 1500, "ext1_output_num_bits is missing"),
        (_with(ext1_raw_bytes=None), 1500, "ext1_raw_bytes is missing"),
        (_with(ext1_output_num_bits="300"), 1500, "must be a whole number"),
        (_with(colour="blue"), 1500, "colour is not a random-extractor parameter"),
        (_with(ext2_seed_bytes="AA=="), 1500, "ext2_seed_bytes is not used by method 'ext1'"),
        (_with(ext1_raw_bytes=b64(_X[:-16])), 1500, "needs exactly 128"),
        (_with(ext1_raw_bytes="not base64!"), 1500, "not valid base64"),
        (_with(ext1_input_num_bits=1000), 1510, "not a prime with 2 as a primitive root"),
        (_with(ext1_input_num_bits=7), 1510, "not a prime with 2 as a primitive root"),
        (_with(ext1_output_num_bits=N + 1), 1510, "larger than ext1_input_num_bits"),
        (_with(ext1_output_num_bits=0), 1510, "at least 1"),
        (_with(ext1_input_num_bits=MAX_INPUT_BITS + 1), 1511, "above this service's limit"),
        (_with(ext1_raw_bytes="A" * 1000), 1511, "more than 128 bytes"),
        ({**_EXT2, "ext2_seed_num_bits": 11}, 1510, "a + 1 must be a prime"),
        ({**_EXT2, "ext2_wsr_multiplier": 1}, 1510, "needs c >= 2"),
        ({**_EXT2, "ext2_wsr_multiplier": 100_000}, 1511, "a * c"),
        ({**_EXT2, "ext2_seed_bytes": b64(np.zeros(8, np.uint8))}, 1500, "needs exactly 13"),
        ({**_EXT2, "raw_job": "x"}, 1500, "raw_job is the raw source of ext1"),
        (_with(method="both", ext2_seed_num_bits=A), 1500, "only one of"),
        (
            _with(method="both", ext2_seed_num_bits=586, ext2_wsr_multiplier=2),
            1510,
            "a = 586 is larger than ext1's output",
        ),
        (_with(method="both", ext2_seed_bytes="AA=="), 1500, "the ext1 output is the seed"),
        (_with(method="both", epsilon_sec=1e-300), 1510, "cannot be derived"),
        (_with(method="both", rate_sv=1.0), 1510, "rate_sv is 1.0"),
        (_with(ext1_wsr_bytes=b64(_X), wsr_seed=3), 1500, "wsr_seed has no effect"),
        (_with(rate_bt=0.5), 1500, "rate_bt is not used by method 'ext1' with raw bytes"),
        ({"method": "ext1", "raw_job": 5}, 1500, "raw_job must be a job id"),
        ({"method": "ext1", "raw_job": "x", "ext1_input_num_bits": N}, 1500, "cannot be combined"),
        ({"method": "ext1", "raw_job": "x", "rate_bt": 1.5}, 1510, "rate_bt is 1.5"),
    ],
)
def test_bad_params_fail_with_reason_code_and_solution(
    client: httpx.Client, params: dict[str, Any], code: int, words: str
) -> None:
    job = extract(client, params)
    assert job["status"] == "Failed"
    state = job["state"]
    assert state["reason_code"] == code, state
    assert words in state["reason"], state
    assert len(state["reason_solution"]) > 10
    assert client.get(f"/jobs/{job['id']}/results").status_code == 204


def test_non_prime_n_suggests_the_largest_valid_one(client: httpx.Client) -> None:
    state = extract(client, _with(ext1_input_num_bits=1000))["state"]
    assert f"n = {ext1_input_num_bits(1000)}" in state["reason_solution"]


def test_unknown_raw_job_fails(client: httpx.Client) -> None:
    job = extract(client, {"method": "ext1", "raw_job": "dnosuchjob"})
    assert job["status"] == "Failed"
    assert job["state"]["reason_code"] == 1512
    assert "raw_job dnosuchjob is not a job of this service" in job["state"]["reason"]


def test_raw_job_still_running_fails_and_says_to_wait(client: httpx.Client) -> None:
    slow = submit(client, backend="fake_cairo", circuit=random_bits(2), shots=100_000)
    try:
        wait_status(client, slow, ("Running",))
        job = extract(client, {"method": "ext1", "raw_job": slow})
        assert job["status"] == "Failed"
        state = job["state"]
        assert state["reason_code"] == 1513
        assert "is Running, not Completed" in state["reason"]
        assert f"Wait until job {slow} has completed" in state["reason_solution"]
    finally:
        client.post(f"/jobs/{slow}/cancel")
    job = extract(client, {"method": "ext1", "raw_job": slow})
    assert "is Cancelled, not Completed" in job["state"]["reason"]


def test_raw_job_that_is_no_sampler_or_too_small_fails(client: httpx.Client) -> None:
    rng = np.random.default_rng(7)
    other = extract(client, ext1_params(random(rng, 11), m=5))
    job = extract(client, {"method": "ext1", "raw_job": other["id"]})
    assert job["state"]["reason_code"] == 1514
    assert "only sampler jobs have measured bits" in job["state"]["reason"]
    tiny = hadamard_job(client, qubits=2, shots=40)
    job = extract(client, {"method": "both", "raw_job": tiny})
    state = job["state"]
    assert state["reason_code"] == 1515, state
    assert f"{ext1_input_num_bits(80)} raw bits of job {tiny}" in state["reason"]
    assert "leave too little" in state["reason"]
    assert "more shots" in state["reason_solution"]


# --- the demo's QRNG pipeline --------------------------------------------------------------


class _FakeDb:
    def __init__(self, row: JobRow, statuses: list[str]) -> None:
        self.row, self.statuses = row, iter(statuses)

    def get(self, job_id: str, *, with_params: bool = True) -> JobRow:
        assert job_id == self.row.id
        return dataclasses.replace(self.row, status=next(self.statuses))


class _FakeScheduler:
    def __init__(self, db: _FakeDb) -> None:
        self.db = db
        self.submitted: list[JobRow] = []

    async def submit(self, row: JobRow) -> JobRow:
        self.submitted.append(row)
        return row


def _sampler_row() -> JobRow:
    row = JobRow.new("sampler", "basic_simulator", "{}", shots=4096, tags=["demo", "qrng"])
    row.id = "dsampler"
    return row


def test_demo_extracts_once_the_hadamard_job_completes() -> None:
    row = _sampler_row()
    scheduler = _FakeScheduler(_FakeDb(row, ["Queued", "Running", "Completed"]))
    made = asyncio.run(extract_when_done(scheduler, row, "both", poll=0))  # type: ignore[arg-type]
    assert made is not None and scheduler.submitted == [made]
    assert made.program == "random-extractor" and made.backend == "basic_simulator"
    assert json.loads(made.params) == {"method": "both", "raw_job": "dsampler"}
    assert made.tags == ["demo", "qrng"]
    pipeline = [job for job in _catalogue({"basic_simulator"}) if job.extract]
    assert pipeline and "qrng" in pipeline[0].tags and pipeline[0].shots * 8 >= 32_000


def test_demo_extracts_nothing_from_a_failed_job() -> None:
    row = _sampler_row()
    scheduler = _FakeScheduler(_FakeDb(row, ["Running", "Failed"]))
    assert asyncio.run(extract_when_done(scheduler, row, "both", poll=0)) is None  # type: ignore[arg-type]
    assert scheduler.submitted == []
