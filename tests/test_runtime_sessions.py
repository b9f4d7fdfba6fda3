"""The real qiskit-ibm-runtime client's Session and Batch against the local service."""

from __future__ import annotations

import time

from qiskit_ibm_runtime import Batch, QiskitRuntimeService, SamplerV2, Session

from tests.runtime_fixtures import bell, iam_service, isa, runtime  # noqa: F401

LONG_SHOTS = 100_000  # minutes on fake_cairo: such a job is cancelled, never awaited


def wait_for(condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.05)


def test_sampler_jobs_inside_a_session(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_lima")
    circuit = isa(bell(), backend)
    with Session(backend, max_time=600) as session:
        assert session.session_id
        first = SamplerV2(mode=session).run([circuit], shots=100)
        second = SamplerV2(mode=session).run([circuit], shots=100)
        counts = [job.result()[0].data.meas.get_counts() for job in (first, second)]
        assert [sum(c.values()) for c in counts] == [100, 100]
        assert first.session_id == second.session_id == session.session_id
        info = session.details()
        assert info is not None
        assert info["mode"] == "dedicated"
        assert info["state"] == "active"
        assert info["backend_name"] == "fake_lima"
        assert info["max_time"] == 600
        assert info["accepting_jobs"] is True
        assert info["last_job_completed"] is not None
        assert session.status() == "In progress, accepting new jobs"
        listed = runtime.jobs(session_id=session.session_id)
        assert sorted(j.job_id() for j in listed) == sorted([first.job_id(), second.job_id()])
    # Leaving the block closes it: with nothing pending, at once.
    closed = session.details()
    assert closed is not None and closed["state"] == "closed"
    assert closed["accepting_jobs"] is False
    assert session.status() == "Closed"
    assert runtime.job(first.job_id()).session_id == session.session_id


def test_sampler_jobs_inside_a_batch(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_perth")
    circuit = isa(bell(), backend)
    with Batch(backend) as batch:
        jobs = [SamplerV2(mode=batch).run([circuit], shots=64) for _ in range(3)]
        results = [job.result() for job in jobs]
        info = batch.details()
        assert info is not None and info["mode"] == "batch"
        assert info["usage_time"] > 0
    assert all(sum(r[0].data.meas.get_counts().values()) == 64 for r in results)
    assert {job.session_id for job in jobs} == {batch.session_id}
    wait_for(lambda: (batch.details() or {}).get("state") == "closed")


def test_session_cancel_stops_queued_jobs(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_cairo")
    circuit = isa(bell(), backend)
    session = Session(backend)
    long = SamplerV2(mode=session).run([circuit], shots=LONG_SHOTS)
    queued = SamplerV2(mode=session).run([circuit], shots=10)
    wait_for(lambda: long.status() == "RUNNING")
    session.cancel()
    wait_for(lambda: queued.status() == "CANCELLED")
    assert long.status() == "RUNNING"  # a running job is left to finish
    info = session.details()
    assert info is not None and info["accepting_jobs"] is False
    long.cancel()
    wait_for(lambda: (session.details() or {}).get("state") == "closed")


def test_session_close_lets_queued_jobs_finish(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_lima")
    circuit = isa(bell(), backend)
    session = Session(backend)
    job = SamplerV2(mode=session).run([circuit], shots=500)
    session.close()
    assert sum(job.result()[0].data.meas.get_counts().values()) == 500
    wait_for(lambda: (session.details() or {}).get("state") == "closed")
    from qiskit_ibm_runtime.exceptions import IBMRuntimeError

    try:
        SamplerV2(mode=session).run([circuit], shots=10)
    except IBMRuntimeError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("a closed session took a job")


def test_workloads_list_sessions_as_the_client_asks(runtime: QiskitRuntimeService) -> None:  # noqa: F811
    backend = runtime.backend("fake_lima")
    with Batch(backend) as batch:
        SamplerV2(mode=batch).run([isa(bell(), backend)], shots=20).result()
    api = runtime._get_api_client()._api  # the client's own REST adapter: workloads_get
    page = api.workloads_get(user="me", mode="batch", sort="-createdAt", limit=5)
    assert batch.session_id in [w["id"] for w in page["workloads"]]
    listed = api.workloads_get(status=["completed", "in_progress"], backend="fake_lima")
    assert all(w["backend"] == "fake_lima" for w in listed["workloads"])
