"""Extractor jobs through the job library: ``CQCExtractor``/``CQCExtractorJob`` brought back.

The handles run against a real local service on loopback; the result decoder is also fed
hostile text, since a result comes from a server.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from qjob_tui.api import Unsupported
from qjob_tui.api.client import JobClient
from qjob_tui.api.source import IBM, Source
from qjob_tui.extract import (
    ExtractorParams,
    bits_to_bytes,
    dodis,
    ext1_input_num_bits,
    hayashi,
    quality_report,
    run_cqc_extractor,
    to_hex,
)
from qjob_tui.jobs import (
    CQCExtractorJob,
    ExtractorJob,
    JobFailureError,
    JobOperationError,
    JobService,
    JobTimeoutError,
    QuantumJob,
)
from qjob_tui.model import JobStatus
from qjob_tui.service.demo import random_bits
from qjob_tui.wire.extractor import (
    ExtractorResultError,
    decode_extractor_result,
    encode_extractor_result,
    extractor_params,
)
from tests.service_process import ServiceProcess

N, M = 1019, 200
A, C = 100, 3


@pytest.fixture(scope="module")
def jobs(service: ServiceProcess) -> Iterator[JobService]:
    with JobService(service.root) as svc:
        yield svc


def inputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 2, size=N, dtype=np.uint8),
        rng.integers(0, 2, size=N, dtype=np.uint8),
    )


# --- the old CQCExtractor methods --------------------------------------------------------


def test_run_async_ext1_and_block_until_ready(jobs: JobService) -> None:
    x, y = inputs(1)
    raw, wsr = bits_to_bytes(x), bits_to_bytes(y)
    job = jobs.cqc_extractor.run_async_ext1(N, M, raw, wsr)
    assert isinstance(job, ExtractorJob) and isinstance(job, CQCExtractorJob)
    assert job.extractor_method == "ext1"
    assert job.parameters == {
        "method": "ext1",
        "ext1_input_num_bits": N,
        "ext1_output_num_bits": M,
        "ext1_raw_bytes": raw,
        "ext1_wsr_bytes": wsr,
    }
    bits = job.block_until_ready(timeout=60, wait=0.1)
    assert bits == dodis(x, y, M).tolist()
    assert all(type(bit) is int for bit in bits)
    assert job.status() is JobStatus.DONE
    # A fresh handle reads the method and parameters back from the service.
    again = jobs.job(job.job_id())
    assert isinstance(again, ExtractorJob)
    assert again.extractor_method == "ext1" and again.parameters == job.parameters
    assert again.block_until_ready(timeout=60, wait=0.1) == bits
    result = again.result()
    assert result.num_bits == M and result.method == "ext1"
    assert result.params["ext1_input_num_bits"] == N
    assert [check.name for check in result.quality] == ["bias", "frequency", "runs"]
    assert result.hex == to_hex(dodis(x, y, M))


def test_run_async_ext2_with_a_wsr_generator(jobs: JobService) -> None:
    rng = np.random.default_rng(2)
    seed = rng.integers(0, 2, size=A + 17, dtype=np.uint8)  # only the first A bits are used
    wsr = rng.integers(0, 2, size=A * C, dtype=np.uint8)
    asked: list[int] = []

    def generator(num_bits: int) -> list[int]:
        asked.append(num_bits)
        return wsr.tolist()

    job = jobs.cqc_extractor.run_async_ext2(seed.tolist(), A, C, generator)
    assert asked == [A * C]
    assert job.extractor_method == "ext2"
    assert job.parameters["ext2_seed_bytes"] == bits_to_bytes(seed[:A])
    assert job.block_until_ready(timeout=60, wait=0.1) == hayashi(wsr, seed[:A]).tolist()


def test_run_async_ext2_without_generator_records_the_service_seed(jobs: JobService) -> None:
    seed = np.ones(A, dtype=np.uint8)
    job = jobs.cqc_extractor.run_async_ext2(seed, A, C)
    bits = job.block_until_ready(timeout=60, wait=0.1)
    used = job.result().params
    wsr = np.random.default_rng(used["wsr_seed"]).integers(0, 2, size=A * C, dtype=np.uint8)
    assert bits == hayashi(wsr, seed).tolist()
    assert job.result().inputs == {"ext2_seed": "params", "ext2_wsr": "generated"}


def test_run_chains_both_stages_like_the_old_run(jobs: JobService) -> None:
    x, y = inputs(3)
    raw, wsr = bits_to_bytes(x), bits_to_bytes(y)
    wsr2 = np.random.default_rng(4).integers(0, 2, size=A * C, dtype=np.uint8)
    bits = jobs.cqc_extractor.run(N, M, raw, wsr, A, C, lambda k: wsr2[:k], wait=0.1)
    expected = run_cqc_extractor(ExtractorParams(N, M, raw, wsr, A, C), ext2_wsr=wsr2)
    assert isinstance(bits, list) and bits == expected.tolist()
    assert len(bits) == M + (C - 1) * A
    only_ext1 = jobs.cqc_extractor.run(5, 3, b"\x15", b"\x0b", 0, 0, wait=0.1)
    assert only_ext1 == dodis([1, 0, 1, 0, 1], [1, 1, 0, 1, 0], 3).tolist()


def test_zero_sizes_are_refused_before_submitting(jobs: JobService) -> None:
    cqc = jobs.cqc_extractor
    with pytest.raises(ValueError, match="must be non-zero"):
        cqc.run_async_ext1(0, 5, b"", b"")
    with pytest.raises(ValueError, match="must be non-zero"):
        cqc.run_async_ext2([1, 0], 2, 0)
    with pytest.raises(ValueError, match="must be non-zero"):
        cqc.run(N, M, b"", b"", 0, 3)
    with pytest.raises(ValueError, match="fewer than the 100 needed"):
        cqc.run_async_ext2([1, 0, 1], A, C)
    with pytest.raises(ValueError, match="method must be one of"):
        jobs.run_extractor("ext3")


# --- a sampler job as the raw source -----------------------------------------------------


def test_run_extractor_over_a_sampler_job(jobs: JobService) -> None:
    sampler = jobs.run(random_bits(8), backend="basic_simulator", shots=400)
    sampler.wait_for_final_state(timeout=60, wait=0.1)
    job = jobs.run_extractor("both", raw_job=sampler, tags=["qrng"], name="qrng test")
    assert job.extractor_method == "both"
    assert job.parameters == {"method": "both", "raw_job": sampler.job_id()}
    bits = job.block_until_ready(timeout=60, wait=0.1)
    result = job.result()
    n = ext1_input_num_bits(3200)
    assert (
        result.params["ext1_input_num_bits"] == n and result.params["raw_job"] == sampler.job_id()
    )
    m, a, c = (
        result.params[k]
        for k in ("ext1_output_num_bits", "ext2_seed_num_bits", "ext2_wsr_multiplier")
    )
    assert len(bits) == result.num_bits == m + (c - 1) * a
    assert job.tags() == ["qrng"] and job.name() == "qrng test"
    listed = jobs.jobs(limit=5, tags=["qrng"])
    assert [j.job_id() for j in listed if isinstance(j, ExtractorJob)] == [job.job_id()]
    with pytest.raises(JobOperationError, match="not a random-extractor job"):
        jobs.extractor_job(sampler.job_id())
    assert type(jobs.job(sampler.job_id())) is QuantumJob


def test_failed_extractor_job_raises_with_the_services_reason(jobs: JobService) -> None:
    job = jobs.run_extractor("ext1", raw_job="dnosuchjob")
    with pytest.raises(JobFailureError, match="not a job of this service"):
        job.block_until_ready(timeout=60, wait=0.1)
    message = job.error_message()
    assert message is not None and "Error code 1512" in message and "Solution: " in message


def test_block_until_ready_times_out(jobs: JobService) -> None:
    blocker = jobs.run(random_bits(2), backend="fake_cairo", shots=100_000)
    try:
        x, y = inputs(5)
        job = jobs.run_extractor(
            "ext1",
            backend="fake_cairo",
            ext1_input_num_bits=N,
            ext1_output_num_bits=M,
            ext1_raw_bytes=bits_to_bytes(x),
            ext1_wsr_bytes=bits_to_bytes(y),
        )
        expected = f"Timeout while waiting for job {job.job_id()}."
        with pytest.raises(JobTimeoutError) as caught:
            job.block_until_ready(timeout=0.3, wait=10)
        assert str(caught.value) == expected
        assert job.status() is JobStatus.QUEUED
        assert job.cancel()
    finally:
        blocker.cancel()


def test_ibm_sources_refuse_extractor_jobs() -> None:
    source = Source(name="ibm", url="https://quantum.cloud.ibm.com/api/v1", kind=IBM)

    async def submit() -> None:
        async with JobClient(source) as client:
            await client.submit_extractor(extractor_params("ext1", raw_job="x"))

    with pytest.raises(Unsupported, match="retired"):
        asyncio.run(submit())


# --- the result decoder, fed hostile text ------------------------------------------------


def _good() -> dict[str, Any]:
    bits = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1], dtype=np.uint8)
    params = {
        "ext1_input_num_bits": 11,
        "ext1_output_num_bits": 10,
        "inputs": {"ext1_raw": "params"},
    }
    return json.loads(encode_extractor_result("ext1", bits, params, quality_report(bits)))


def test_decoder_reads_the_service_encoding() -> None:
    result = decode_extractor_result(json.dumps(_good()))
    assert result.to_list() == [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]
    assert result.bits.dtype == np.uint8 and not result.bits.flags.writeable
    assert result.num_bits == 10 and result.method == "ext1"
    assert result.to_bytes() == bits_to_bytes(result.bits)
    assert result.inputs == {"ext1_raw": "params"}
    assert result.quality[0].name == "bias" and result.quality[0].p_value is not None
    with pytest.raises(TypeError):
        result.params["ext1_input_num_bits"] = 3  # type: ignore[index]


def _broken(**changes: Any) -> str:
    body = _good()
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return json.dumps(body)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (_broken(program="sampler"), "not a random-extractor result"),
        (_broken(version=2), "version 2"),
        (_broken(method="ext9"), "unknown extractor method"),
        (_broken(num_bits=-1), "num_bits"),
        (_broken(num_bits=True), "num_bits"),
        (_broken(bits=None), "no base64 'bits'"),
        (_broken(bits="!!!!"), "not valid base64"),
        (_broken(bits=base64.b64encode(b"\x00").decode()), "holds 1 bytes"),
        (_broken(bits="A" * 10_000), "longer than"),
        (_broken(num_bits=9, hex=None), "make 10 bits, but the result holds 9"),
        (_broken(hex="ffff"), "'hex' does not match"),
        (_broken(parameters=[1]), "'parameters' is not an object"),
        (_broken(parameters={"ext1_output_num_bits": "10"}), "not a non-negative integer"),
        (_broken(parameters={"inputs": {"ext1_raw": "\x1b[31m"}}), "unknown source"),
        (_broken(quality={"a": 1}), "'quality' is not a list"),
        (_broken(quality=[{"name": "bias", "p_value": 7}]), "p_value is not a number in [0, 1]"),
        (_broken(quality=[{"name": 3}]), "name is not a string"),
        (_broken(alpha=2), "'alpha'"),
    ],
)
def test_decoder_refuses_malformed_results(text: str, words: str) -> None:
    with pytest.raises(ExtractorResultError) as caught:
        decode_extractor_result(text)
    assert isinstance(caught.value, ValueError)
    assert words in str(caught.value)
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value)


def test_decoder_makes_strings_safe() -> None:
    body = _good()
    body["parameters"]["raw_job"] = "d\x1b]0;pwned\x07id"
    body["parameters"]["newer_field"] = "a\x1b[2Jb"
    body["quality"][0]["note"] = "line\nbreak\x1b[31m"
    result = decode_extractor_result(json.dumps(body))
    assert "\x1b" not in result.params["raw_job"] and "\x07" not in result.params["raw_job"]
    assert result.params["newer_field"] == "ab"
    assert result.quality[0].note == "line break"
