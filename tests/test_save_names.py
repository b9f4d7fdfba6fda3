"""The names typed in the export (``e``) and save bits (``w``) prompts: a file holds what its name
says (a name without an ending gets the first kind's), a kind not offered is refused with the
kinds that are, and an empty list writes nothing. Against the real local service."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from qjob_tui.ui.actions import BY_ID
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.detail.pane import JobDetail
from qjob_tui.ui.dialogs.text_prompt import TextPrompt
from qjob_tui.ui.jobs.job_list import JobList
from tests.apps.dashboard_app import settle
from tests.service_process import ServiceProcess
from tests.test_app import HADAMARDS, make_app, select, server_job, submit, until


async def finished_job(service: ServiceProcess) -> str:
    job_id = await submit(service, shots=10)
    while not (await server_job(service, job_id)).status.is_final:
        await asyncio.sleep(0.05)
    return job_id


def listen(app: QJobApp) -> list[str]:
    """The app's notices from now on."""
    said: list[str] = []
    app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
    return said


async def answer(pilot: Pilot[int], key: str, typed: str) -> TextPrompt:
    """Open the prompt of ``key`` and enter ``typed`` in it; the prompt, as it was."""
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, TextPrompt))
    prompt = app.screen
    assert isinstance(prompt, TextPrompt)
    await pilot.press("ctrl+u", *typed, "enter")
    await settle(pilot)
    return prompt


def problem_of(prompt: TextPrompt) -> str:
    return str(prompt.query_one("#problem", Static).render())


async def test_an_export_holds_what_its_name_says(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "dl"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    job_id = await finished_job(service)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        said = listen(app)
        await answer(pilot, "e", "rows.json")
        await until(pilot, lambda: any("rows.json" in m for m in said))
        await answer(pilot, "e", "rows")  # no ending: a CSV file, and its name says so
        await until(pilot, lambda: any(str(downloads / "rows.csv") in m for m in said))
        assert not (downloads / "rows").exists()
        await answer(pilot, "e", "Rows.CSV")
        await until(pilot, lambda: any("Rows.CSV" in m for m in said))
        for typed in ("rows.txt", "rows.csv.gz", "rows.xlsx"):
            prompt = await answer(pilot, "e", typed)
            assert app.screen is prompt, typed  # still open, with the name and the reason
            suffix = typed[typed.rindex(".") :]
            assert problem_of(prompt) == (
                f"Not saved: {suffix} files are not offered here; end the name in .csv or "
                ".json (a name without an ending gets .csv)"
            )
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, TextPrompt))
    assert [row["id"] for row in json.loads((downloads / "rows.json").read_text())] == [job_id]
    for name in ("rows.csv", "Rows.CSV"):
        assert [row["id"] for row in csv.DictReader((downloads / name).open())] == [job_id]
    assert sorted(p.name for p in downloads.iterdir()) == ["Rows.CSV", "rows.csv", "rows.json"]


async def test_an_empty_list_exports_nothing_and_says_so(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "dl"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    await finished_job(service)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        job_list = app.query_one(JobList)
        await until(pilot, lambda: len(job_list.rows) > 0)
        await pilot.press("slash", *"no-such-job", "enter")
        await until(pilot, lambda: len(job_list.rows) == 0 and job_list.has_focus)
        said = listen(app)
        await pilot.press("e")
        await settle(pilot)
        assert said == ["Nothing to export: no job matches the filter."]
        assert not isinstance(app.screen, TextPrompt)
        app.dashboard._run_from_palette(BY_ID["app.export"])  # type: ignore[union-attr]
        await settle(pilot)
        assert said == ["Nothing to export: no job matches the filter."] * 2
    assert not downloads.exists()


async def test_saved_bits_hold_what_their_name_says(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "dl"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        raw = await submit_hadamards(service)
        await select(pilot, app, raw)
        await until(pilot, lambda: app.store.job(("local", raw)).status.value == "DONE")  # type: ignore[union-attr]
        await pilot.press("x")
        name = f"bits of {raw}"
        await until(pilot, lambda: extractor_done(app, name) is not None, timeout=60)
        await pilot.press("escape")
        await select(pilot, app, str(extractor_done(app, name)))
        await pilot.press("5")
        await until(pilot, lambda: app.query_one(JobDetail).bits is not None)
        bits = app.query_one(JobDetail).bits
        assert bits is not None
        said = listen(app)
        await answer(pilot, "w", "bits")  # no ending: packed bytes, and the name says so
        await until(pilot, lambda: any(str(downloads / "bits.bin") in m for m in said))
        await answer(pilot, "w", "bits.hex")
        await until(pilot, lambda: any("bits.hex" in m for m in said))
        for typed in ("bits.csv", "bits.json"):
            prompt = await answer(pilot, "w", typed)
            assert app.screen is prompt, typed
            suffix = typed[typed.rindex(".") :]
            assert problem_of(prompt) == (
                f"Not saved: {suffix} files are not offered here; end the name in .bin, .txt "
                "or .hex (a name without an ending gets .bin)"
            )
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, TextPrompt))
    assert (downloads / "bits.bin").read_bytes() == bits.to_bytes()
    assert (downloads / "bits.hex").read_text() == bits.hex + "\n"
    assert sorted(p.name for p in downloads.iterdir()) == ["bits.bin", "bits.hex"]


async def submit_hadamards(service: ServiceProcess) -> str:
    from qjob_tui.api import JobClient, Source

    async with JobClient(Source.local(service.root)) as client:
        raw = await client.submit([HADAMARDS], "basic_simulator", shots=4096)
        while not (await client.job(raw)).status.is_final:
            await asyncio.sleep(0.1)
    return raw


def extractor_done(app: QJobApp, name: str) -> str | None:
    """The id of the extractor job of that name once it is DONE."""
    for job in app.store.all_jobs():
        if job.program == "random-extractor" and job.name == name:
            return job.id if job.status.value == "DONE" else None
    return None


async def test_the_downloads_folder_itself_is_no_file_name(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder's own path (or ``.``, or ``./``) asks for a file name: it is inside the
    folder, not outside it, as the prompt once said."""
    downloads = tmp_path / "dl"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    job_id = await finished_job(service)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        for typed in (str(downloads), f"{downloads}/", ".", "./", "sub/.."):
            prompt = await answer(pilot, "e", typed)
            assert app.screen is prompt, typed  # still open, the name kept to be corrected
            assert problem_of(prompt) == (
                f"Not saved: {downloads} is the downloads folder itself; give a file name"
            ), typed
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, TextPrompt))
        prompt = await answer(pilot, "e", "sub/")
        assert problem_of(prompt) == f"Not saved: {downloads / 'sub'} is a folder; give a file name"
    assert not downloads.exists()
