"""The Circuit tab of a finished job shows its circuit drawn, as a person opens it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.circuit_view import CircuitView
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.jobs.job_list import JobList
from tests.service_process import ServiceProcess
from tests.test_app import select, until

GHZ = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
    "h q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n"
)
QASM3_BELL = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
    "h q[0];\ncx q[0], q[1];\nc = measure q;\n"
)


async def finished_job(service: ServiceProcess, circuit: str) -> str:
    async with JobClient(Source.local(service.root)) as client:
        job_id = await client.submit([circuit], "basic_simulator", shots=50)
        while not (await client.job(job_id)).status.is_final:
            await asyncio.sleep(0.1)
    return job_id


def shown(app: QJobApp) -> str:
    return str(app.query_one(CircuitView).render())


async def open_circuit_tab(service: ServiceProcess, tmp_path: Path, circuit: str) -> str:
    job_id = await finished_job(service, circuit)
    store = JobStore(
        [JobClient(Source.local(service.root))],
        StoreConfig(interval=0.5, calm_interval=0.5, use_cache=False),
    )
    app = QJobApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        assert app.query_one(JobList).cursor_key == ("local", job_id)
        await pilot.press("tab", "right", "right", "right")
        await until(pilot, lambda: app.query_one(JobDetail).active == "circuit")
        await until(pilot, lambda: "Loading the circuits" not in shown(app), timeout=60)
        return shown(app)


async def test_circuit_tab_draws_the_circuit(service: ServiceProcess, tmp_path: Path) -> None:
    text = await open_circuit_tab(service, tmp_path, GHZ)
    assert "circuit 0" in text
    assert "┤ H ├" in text and "q_2" in text and "c: 3/" in text


async def test_circuit_tab_draws_openqasm3(service: ServiceProcess, tmp_path: Path) -> None:
    text = await open_circuit_tab(service, tmp_path, QASM3_BELL)
    assert "┤ H ├" in text and "q_1" in text
