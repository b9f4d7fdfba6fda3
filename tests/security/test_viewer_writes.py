"""Export (e), save bits (w), columns and screenshots: a dashboard for a remote viewer writes no
file on its host and offers the data instead; a local one asks before replacing a file and
keeps to the downloads folder. The store's actions refuse when it is read-only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from qjob_tui.api.client import JobClient
from qjob_tui.api.source import Source
from qjob_tui.saving import REMOTE_VIEWER_VARIABLE
from qjob_tui.store import JobStore
from qjob_tui.store.store_config import StoreConfig
from qjob_tui.ui.dialogs.text_prompt import TextPrompt
from tests.apps.dashboard_app import EXTRACTOR_JOB, make_app, select, settle, show_tab
from tests.http_helpers import sampler_body
from tests.service_process import ServiceProcess


async def until(pilot: Pilot[int], predicate: Callable[[], bool], timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never met")


@pytest.fixture()
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The downloads folder, and a folder outside it that nothing may be written to."""
    downloads, outside = tmp_path / "dl", tmp_path / "outside"
    downloads.mkdir()
    outside.mkdir()
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(outside)
    return downloads, outside


def _problem(prompt: object) -> str:
    """The reason a prompt shows under its box for the name it refused."""
    assert isinstance(prompt, TextPrompt)
    return str(prompt.query_one("#problem", Static).render())


def _written(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in folder.rglob("*")]


async def test_a_remote_viewer_gets_the_export_on_its_clipboard(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REMOTE_VIEWER_VARIABLE, "1")
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: any("clipboard" in m for m in said))
        assert not isinstance(app.screen, TextPrompt)
        assert app.clipboard.startswith("source,id,status")
        assert any("writes no file" in m for m in said)
        show_tab(app, "bits")
        select(app, EXTRACTOR_JOB)
        await settle(pilot)
        said.clear()
        await pilot.press("w")
        await until(pilot, lambda: any("clipboard" in m for m in said))
        assert not isinstance(app.screen, TextPrompt)
        assert set(app.clipboard) <= set("0123456789abcdef") and len(app.clipboard) == 128
        app.action_screenshot()
        await until(pilot, lambda: any("No screenshot" in m for m in said))
        app.save_setting("columns", ["id", "status"], "Columns")
        await until(pilot, lambda: any("Columns changed" in m for m in said))
        await app.workers.wait_for_complete()
    assert _written(*places) == []


async def test_a_browser_viewer_is_told_export_and_save_are_not_offered(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay's page has no download route: a browser viewer is told so, and nothing is
    written, copied or promised."""
    monkeypatch.setenv(REMOTE_VIEWER_VARIABLE, "1")
    app = make_app()
    monkeypatch.setattr(type(app), "is_web", property(lambda self: True))
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: any("not offered in the browser view" in m for m in said))
        assert not isinstance(app.screen, TextPrompt)
        assert not any("download" in m and "offered as" in m for m in said)
        show_tab(app, "bits")
        select(app, EXTRACTOR_JOB)
        await settle(pilot)
        said.clear()
        await pilot.press("w")
        await until(pilot, lambda: any("not offered in the browser view" in m for m in said))
        await app.workers.wait_for_complete()
    assert _written(*places) == []


async def test_a_remote_export_too_big_for_a_clipboard_says_so(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import qjob_tui.ui.save_flow as save_flow

    monkeypatch.setenv(REMOTE_VIEWER_VARIABLE, "1")
    monkeypatch.setattr(save_flow, "MAX_CLIPBOARD_CHARACTERS", 100)
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: any("too many for a terminal" in m for m in said))
        assert app.clipboard == ""
    assert _written(*places) == []


async def test_a_local_export_stays_in_the_downloads_folder(places: tuple[Path, Path]) -> None:
    _, outside = places
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        prompt = app.screen
        for typed in (str(outside / "x.csv"), "../outside/x.csv", "/proc/self/cwd/x.csv"):
            await pilot.press("ctrl+u", *typed, "enter")
            # Refused in the prompt, which stays open with the name, to be corrected.
            await until(pilot, lambda: "outside the downloads folder" in _problem(prompt))
            assert app.screen is prompt and prompt.query_one(Input).value == typed
        await app.workers.wait_for_complete()
    assert said == []
    assert _written(outside) == []


async def test_a_local_export_asks_before_replacing(places: tuple[Path, Path]) -> None:
    downloads, _ = places
    (downloads / "jobs.csv").write_text("mine")
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("ctrl+u", *"jobs.csv", "enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, TextPrompt) and "exists" in app.screen.title_text,
        )
        assert (downloads / "jobs.csv").read_text() == "mine"
        await pilot.press("escape")  # no: the file stays
        await until(pilot, lambda: not isinstance(app.screen, TextPrompt))
        assert (downloads / "jobs.csv").read_text() == "mine"
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("ctrl+u", *"jobs.csv", "enter")
        await until(
            pilot, lambda: isinstance(app.screen, TextPrompt) and "exists" in app.screen.title_text
        )
        await pilot.press("enter")  # yes: replace it
        await until(pilot, lambda: any("Exported" in m for m in said))
    assert (downloads / "jobs.csv").read_text().startswith("source,id,status")


async def test_a_read_only_store_refuses_every_action(service: ServiceProcess) -> None:
    with httpx.Client(base_url=service.url) as http:
        body = sampler_body("fake_cairo", shots=100_000, name="readonly-store")
        job_id = str(http.post("/jobs", json=body).json()["id"])
    store = JobStore(
        [JobClient(Source.local(service.root))], StoreConfig(readonly=True, use_cache=False)
    )
    await store.start(poll=False)
    try:
        key = ("local", job_id)
        while store.job(key) is None:  # the job is known: without read-only, these would act
            await store.poll_once()
        results = [
            *(await store.cancel([key])),
            await store.set_tags(key, ["x"]),
            await store.rename(key, "renamed"),
            await store.extract(key),
            await store.close_session(key),
            await store.cancel_session(key),
        ]
        assert all(not result.ok and "read-only" in result.message for result in results)
    finally:
        await store.stop()
    with httpx.Client(base_url=service.url) as http:
        job = http.get(f"/jobs/{job_id}").json()
        assert job["state"]["status"] in ("Queued", "Running")
        assert job.get("tags") in ([], None) and job.get("name") == "readonly-store"
        http.delete(f"/jobs/{job_id}")


async def test_a_name_outside_says_which_downloads_folder_and_why_that_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No $XDG_DOWNLOAD_DIR and no ~/Downloads: the home folder is the downloads folder, and
    the prompt and the refusal both say so, in the README's words."""
    home, outside = tmp_path / "[b]home", tmp_path / "outside"  # a path is never markup
    home.mkdir()
    outside.mkdir()
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("HOME", str(home))
    app = make_app()
    said: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await settle(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        prompt = app.screen
        explanation = str(prompt.query_one("#explanation", Static).render())
        assert f"in the downloads folder, {home}" in explanation
        await pilot.press("ctrl+u", *str(outside / "x.json"), "enter")
        await until(pilot, lambda: "Not saved" in _problem(prompt))
        refusal = _problem(prompt)
    assert said == []
    assert f"{outside / 'x.json'} is outside the downloads folder, {home}" in refusal
    assert "$XDG_DOWNLOAD_DIR, else ~/Downloads if it exists, else the home folder" in refusal
    assert _written(outside) == []
