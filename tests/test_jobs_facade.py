"""The synchronous job handle with the old Qiskit job method names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from dateutil import tz

from qjob_tui.jobs import (
    JobFailureError,
    JobOperationError,
    JobService,
    JobTimeoutError,
    QuantumJob,
)
from qjob_tui.model import JobStatus
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def jobs(service: ServiceProcess) -> Iterator[JobService]:
    with JobService(service.root) as svc:
        yield svc


def test_run_wait_and_result(jobs: JobService) -> None:
    seen: list[JobStatus] = []
    job = jobs.run(BELL, backend="basic_simulator", shots=200, tags=["facade"], name="bell")
    job.wait_for_final_state(timeout=60, wait=0.1, callback=lambda _id, s, _j: seen.append(s))
    assert seen[-1] is JobStatus.DONE
    assert job.done() and job.in_final_state() and not job.running() and not job.cancelled()
    counts = job.result().pubs[0].register("c").counts
    assert set(counts) <= {"00", "11"} and counts.shots == 200
    assert job.job_id() == job.snapshot.id
    assert job.backend() == "basic_simulator"
    assert job.name() == "bell" and job.tags() == ["facade"]
    assert job.header() == {
        "backend_name": "basic_simulator",
        "job_name": "bell",
        "tags": ["facade"],
    }
    steps = job.time_per_step()
    assert list(steps) == ["CREATED", "QUEUED", "RUNNING", "FINISHED"]
    assert all(moment.tzinfo is not None for moment in steps.values())
    created = job.creation_date()
    assert created.utcoffset() == datetime.now(tz.tzlocal()).utcoffset()
    assert job.usage_estimation["quantum_seconds"] is not None
    assert job.client_version.get("qiskit")
    assert job.error_message() is None
    assert job.circuits()[0].num_qubits == 2
    assert job.backend_options() == {}
    assert job.scheduling_mode() == "fairshare"


def test_tags_both_styles_and_rename(jobs: JobService) -> None:
    job = jobs.run(BELL, backend="basic_simulator", shots=10, tags=["a", "b"])
    assert job.update_tags(["x", "y"]) == ["x", "y"]
    assert job.update_tags(additional_tags=["z"], removal_tags=["x"]) == ["y", "z"]
    assert job.update_name("new name") == "new name"
    assert jobs.job(job.job_id()).name() == "new name"


def test_queue_position_and_cancel(jobs: JobService) -> None:
    blocker = jobs.run(BELL, backend="fake_cairo", shots=100_000)
    blocker.wait_for_final_state(timeout=0.0) if blocker.in_final_state() else None
    while blocker.status() is not JobStatus.RUNNING:
        pass
    queued = jobs.run(BELL, backend="fake_cairo", shots=10)
    assert queued.queue_position(refresh=True) == 1
    info = queued.queue_info()
    assert info is not None and info.estimated_start is not None
    assert blocker.queue_position(refresh=True) is None
    assert queued.cancel() is True and queued.cancelled()
    assert queued.cancel() is False
    with pytest.raises(JobOperationError, match="was cancelled"):
        queued.result()
    with pytest.raises(JobTimeoutError, match=f"Timeout while waiting for job {blocker.job_id()}"):
        blocker.wait_for_final_state(timeout=0.2, wait=0.1)
    assert blocker.cancel()


def test_failed_job_error_message_and_result(jobs: JobService) -> None:
    job = jobs.run("OPENQASM 2.0;\nqreg q[1];\nnope q[0];\n", backend="basic_simulator")
    job.wait_for_final_state(timeout=60)
    message = job.error_message()
    assert message is not None
    assert message.startswith(f"Job {job.job_id()} has failed:\nError code ")
    assert "Solution: " in message
    with pytest.raises(JobFailureError, match="has failed"):
        job.result()


def test_submit_is_refused_like_the_old_class(jobs: JobService) -> None:
    job = jobs.jobs(limit=1)[0]
    assert isinstance(job, QuantumJob)
    with pytest.raises(JobOperationError, match="not supported"):
        job.submit()


def test_properties_of_a_device(jobs: JobService) -> None:
    job = jobs.run(BELL, backend="fake_lima", shots=10)
    job.wait_for_final_state(timeout=60)
    props = job.properties()
    assert props is not None and len(props["qubits"]) == 5
