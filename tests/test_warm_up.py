"""A worker's warm-up runs tiny jobs of its own, so that its first real job pays no first-use
costs, keeps nothing of them that a real job could find, and never fails the worker."""

from __future__ import annotations

import json

import pytest

from qjob_tui.model import ProgramId
from qjob_tui.service import simulators, warm_up
from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.programs import circuit_cache
from qjob_tui.service.worker import Task, run_task
from qjob_tui.wire.sampler_params import encode_sampler_params

CACHES = (
    circuit_cache.sampler_params,
    circuit_cache.decoded,
    circuit_cache.transpiled,
    circuit_cache.pass_managers,
)


def test_warm_up_jobs_succeed_alone_and_in_a_group() -> None:
    outcomes = warm_up.run_warm_up_jobs()
    assert [outcome.ok for outcome in outcomes] == [True] * 3, [o.message for o in outcomes]


def test_a_job_after_the_warm_up_finds_nothing_of_it() -> None:
    warm_up.run_warm_up_jobs()
    assert warm_up.WARM_UP_BACKEND not in simulators._backends
    spec = BackendSpec(name="basic_simulator", kind="basic", num_qubits=2, simulator=True)
    params = json.dumps(encode_sampler_params([warm_up.WARM_UP_CIRCUIT], 1))
    try:
        outcome = run_task(Task("d" + "0" * 19, ProgramId.SAMPLER, params, spec))
        assert outcome.ok, outcome.message
        assert [cache.hits for cache in CACHES] == [0, 0, 0, 0]
        assert circuit_cache.sampler_params.misses == 1
    finally:
        circuit_cache.forget_all()


def test_failing_warm_up_jobs_leave_a_worker_that_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(tasks: list[Task]) -> list[object]:
        raise MemoryError("a --job-memory too small for the warm-up")

    monkeypatch.setattr(warm_up, "run_group", refuse)
    warm_up.warm_up()  # returns: the warm-up is only a speed-up
    assert [len(cache) for cache in CACHES] == [0, 0, 0, 0]
    assert warm_up.WARM_UP_BACKEND not in simulators._backends
