"""A worker's warm-up runs tiny jobs of its own, so that its first real job pays no first-use
costs, and keeps nothing of them that a real job could find."""

from __future__ import annotations

import json

from qjob_tui.model import ProgramId
from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.programs import circuit_cache
from qjob_tui.service.worker import _WARM_UP_CIRCUIT, Task, first_use, run_task
from qjob_tui.wire.sampler_params import encode_sampler_params


def test_warm_up_jobs_succeed_alone_and_in_a_group() -> None:
    outcomes = first_use()
    assert [outcome.ok for outcome in outcomes] == [True] * 3, [o.message for o in outcomes]


def test_a_job_after_the_warm_up_finds_none_of_its_circuits_cached() -> None:
    first_use()
    spec = BackendSpec(name="basic_simulator", kind="basic", num_qubits=2, simulator=True)
    params = json.dumps(encode_sampler_params([_WARM_UP_CIRCUIT], 1))
    try:
        outcome = run_task(Task("d" + "0" * 19, ProgramId.SAMPLER, params, spec))
        assert outcome.ok, outcome.message
        caches = (circuit_cache.sampler_params, circuit_cache.decoded, circuit_cache.transpiled)
        assert [cache.hits for cache in caches] == [0, 0, 0]
        assert circuit_cache.sampler_params.misses == 1
    finally:
        circuit_cache.forget_all()
