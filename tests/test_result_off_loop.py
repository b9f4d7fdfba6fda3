"""A large result is decoded off the event loop: the screen keeps painting meanwhile.

The decoding of a 100,000-shot, 20-bit sampler result is held in its worker until the
dashboard has painted several new frames; were it on the event loop, no frame could be drawn
and the test would fail.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from rich.text import Text

from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.detail.result_view import ResultView
from qjob_tui.ui.status.status_line import StatusLine
from qjob_tui.wire import sampler_results
from tests.service_process import ServiceProcess
from tests.test_app import select, until

WIDE = 20
SHOTS = 100_000
HADAMARDS = (
    f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{WIDE}];\ncreg c[{WIDE}];\n'
    "h q;\nmeasure q -> c;\n"
)


async def large_result_job(service: ServiceProcess) -> str:
    async with JobClient(Source.local(service.root)) as client:
        job_id = await client.submit([HADAMARDS], "aer_simulator", shots=SHOTS)
        for _ in range(1200):
            job = await client.job(job_id)
            if job.status.is_final:
                break
            await asyncio.sleep(0.1)
        assert job.status.value == "DONE", job
        text = await client.results_text(job_id)
    assert text is not None and len(text) > 100_000
    return job_id


@pytest.mark.timeout(600)  # a 100,000-shot job on a machine shared by many test runs
async def test_screen_keeps_painting_while_a_large_result_decodes(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = await large_result_job(service)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    threads: list[threading.Thread] = []
    original = sampler_results.decode_sampler_result

    def held_decode(text: str | bytes):
        threads.append(threading.current_thread())
        started.set()
        while not release.wait(timeout=1):  # on the event loop this would stop every frame
            if finished.is_set():
                raise RuntimeError("the test ended before the decoding was released")
        return original(text)

    monkeypatch.setattr(sampler_results, "decode_sampler_result", held_decode)
    store = JobStore(
        [JobClient(Source.local(service.root))],
        StoreConfig(interval=0.5, calm_interval=0.5, use_cache=False),
    )
    app = QJobApp(store)
    frames = [0]
    display = app._display

    def counting_display(screen, renderable) -> None:
        if renderable is not None:
            frames[0] += 1
        display(screen, renderable)

    app._display = counting_display  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await select(pilot, app, job_id)
            await pilot.press("tab", "right", "right")
            await until(pilot, lambda: app.query_one(JobDetail).active == "result")
            await until(pilot, started.is_set, timeout=60)
            status = app.query_one(StatusLine)
            for step in range(3):
                before = frames[0]
                status.update(Text(f"still drawing, step {step}"))
                await until(pilot, lambda before=before: frames[0] > before, timeout=120)
            assert not release.is_set() and "Loading the result" in str(
                app.query_one(ResultView).render()
            )
            release.set()
            # Drawn once decoded; the test's timeout bounds the wait.
            while f"{SHOTS:,} shots" not in str(app.query_one(ResultView).render()):
                await asyncio.sleep(0.2)
            shown = str(app.query_one(ResultView).render())
    finally:
        finished.set()
        release.set()
    assert threads and threads[0] is not threading.main_thread()
    assert f"register c · {WIDE} bits" in shown
