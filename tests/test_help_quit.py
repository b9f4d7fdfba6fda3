"""ctrl+c in the dashboard says how to quit in plain words: the keys bound to quit (as the
keymap set them), never Textual's markup as literal text (notifications here are plain)."""

from __future__ import annotations

from dataclasses import replace

from qjob_tui.ui.app import QJobApp
from tests.apps.dashboard_app import make_app
from tests.test_daily_use import screen_text, settle, until


def _notices(app: QJobApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_ctrl_c_names_the_quit_keys_without_markup() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: any("to quit" in n for n in _notices(app)))
        (said,) = [n for n in _notices(app) if "to quit" in n]
        assert "[" not in said and "]" not in said
        assert said == "Do you want to quit?: Press q or ^q to quit the app"
        assert "Press q or ^q to quit" in screen_text(app)


async def test_ctrl_c_names_a_remapped_quit_key() -> None:
    app = make_app()
    app.settings = replace(app.settings, keymap={"app.quit": "Q"})
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: any("to quit" in n for n in _notices(app)))
        (said,) = [n for n in _notices(app) if "to quit" in n]
        assert "Press Q or ^q to quit the app" in said
        await pilot.press("Q")
    assert app.return_code == 0
