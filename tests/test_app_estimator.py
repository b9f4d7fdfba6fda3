"""Estimator results from the real local service: decoded by the client, shown in the Result tab."""

from __future__ import annotations

import json

import httpx
import numpy as np
from qiskit import QuantumCircuit
from qiskit_ibm_runtime import RuntimeDecoder, RuntimeEncoder

from qjob_tui.api import JobClient, Source
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.detail.result_view import ResultView
from tests.service_process import ServiceProcess
from tests.test_app import make_app, select, until
from tests.test_client_sessions import wait_final


def submit_estimator(service: ServiceProcess) -> str:
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    params = {
        "pubs": [(bell, [["ZZ"], ["XX"], ["ZI"]], np.zeros((0,)), 0.02)],
        "options": {},
        "version": 2,
    }
    body = {"program_id": "estimator", "backend": "aer_simulator", "params": params}
    response = httpx.post(
        f"{service.url}/jobs",
        content=json.dumps(body, cls=RuntimeEncoder),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def test_estimator_values_as_the_client_library_reads_them(
    service: ServiceProcess, tmp_path
) -> None:
    job_id = submit_estimator(service)
    async with JobClient(Source.local(service.url)) as client:
        await wait_final(client, job_id)
        ours = await client.estimator_result(job_id)
        reference = json.loads(await client.results_text(job_id) or "", cls=RuntimeDecoder)
    assert ours is not None
    (pub,) = ours.pubs
    assert pub.shape == reference[0].data.evs.shape == (3, 1)
    assert [v.value for v in pub.values] == list(reference[0].data.evs[:, 0])
    assert [v.std for v in pub.values] == list(reference[0].data.stds[:, 0])

    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        app.query_one(JobDetail).active = "result"
        view = app.query_one(ResultView)
        await until(pilot, lambda: "observables" in str(view.render()))
        shown = str(view.render())
        assert "pub 0 · 3 observables · shape 3x1" in shown
        assert f"{pub.values[0].value:.4f}" in shown and "±" in shown
