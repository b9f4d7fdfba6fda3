"""Usage, limits, deletion, privacy and metrics as today's IBM has them, via the real client."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeJobNotFound

from tests.runtime_fixtures import (  # noqa: F401
    bell,
    connect,
    iam_service,
    isa,
    runtime,
    start_iam_service,
)
from tests.service_process import ServiceProcess

LONG_SHOTS = 100_000


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service whose instance may use 1 quantum second."""
    proc = start_iam_service(tmp_path_factory.mktemp("limited"), "--usage-limit", "1")
    yield proc
    proc.stop()


def test_usage_reports_the_limit_and_submits_stop_past_it(
    limited: ServiceProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    service = connect(limited, monkeypatch, tmp_path)
    usage = service.usage()
    assert usage["usage_limit_seconds"] == 1
    assert usage["usage_consumed_seconds"] == 0
    assert usage["usage_remaining_seconds"] == 1
    assert usage["usage_limit_reached"] is False
    backend = service.backend("fake_cairo")
    circuit = isa(bell(), backend)
    # 2,000 shots at 0.8 ms: about 1.6 quantum seconds, past the limit.
    SamplerV2(mode=backend).run([circuit], shots=2000).result()
    spent = service.usage()
    assert spent["usage_limit_reached"] is True
    assert spent["usage_remaining_seconds"] == 0
    with pytest.warns(UserWarning), pytest.raises(IBMRuntimeError) as refused:
        SamplerV2(mode=backend).run([circuit], shots=10)
    assert "usage exceeds instance limit" in str(refused.value).lower()


def test_delete_job_of_a_queued_job(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_cairo")
    circuit = isa(bell(), backend)
    blocker = SamplerV2(mode=backend).run([circuit], shots=LONG_SHOTS)
    queued = SamplerV2(mode=backend).run([circuit], shots=10)
    assert queued.status() == "QUEUED"
    runtime.delete_job(queued.job_id())
    with pytest.raises(RuntimeJobNotFound):
        runtime.job(queued.job_id())
    blocker.cancel()
    runtime.delete_job(blocker.job_id())
    with pytest.raises(RuntimeJobNotFound):
        runtime.delete_job(blocker.job_id())


def test_metrics_as_ibm_has_them_today(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_lima")
    job = SamplerV2(mode=backend).run([isa(bell(), backend)], shots=100)
    job.result()
    metrics = job.metrics()
    assert set(metrics["timestamps"]) >= {"created", "running", "finished"}
    assert metrics["usage"]["status"] == "complete"
    assert metrics["usage"]["qpu_charge_time_seconds"] > 0
    assert metrics["circuits_execution_time_ns"] > 0
    assert metrics["qiskit_version"]
    assert "qiskit" in metrics["caller"]
    assert runtime.job(job.job_id()).usage() > 0
    assert job.usage_estimation is not None


def test_private_jobs_keep_neither_params_nor_results(
    runtime: QiskitRuntimeService,  # noqa: F811
    iam_service: ServiceProcess,  # noqa: F811
) -> None:
    backend = runtime.backend("fake_lima")
    sampler = SamplerV2(mode=backend)
    sampler.options.environment.private = True
    job = sampler.run([isa(bell(), backend)], shots=100)
    assert sum(job.result()[0].data.meas.get_counts().values()) == 100
    client = runtime._get_api_client()  # the client's own REST adapter, for the raw shape
    record = client.job_get(job.job_id(), exclude_params=False)
    assert record["private"] is True
    assert "params" not in record
    assert record["user_id"] == "local-user"
    # As on IBM: a second read answers with no result, which the client's result() gives as such.
    assert client.job_results(job.job_id()) == ""
    assert not job.result()
    assert not job.inputs
    with sqlite3.connect(f"file:{iam_service.data / 'jobs.sqlite3'}?mode=ro", uri=True) as db:
        params = db.execute("SELECT params FROM jobs WHERE id = ?", (job.job_id(),)).fetchone()
        results = db.execute(
            "SELECT COUNT(*) FROM results JOIN jobs USING (seq) WHERE jobs.id = ?",
            (job.job_id(),),
        ).fetchone()
    assert json.loads(params[0]) == {}
    assert results[0] == 0
