"""The help says how to close it in its title, where the eye lands first, with the keys the
keymap bound to closing it (the list of keys can be taller than the screen)."""

from __future__ import annotations

from dataclasses import replace

from qjob_tui.ui.dialogs.help import HelpScreen
from tests.apps.dashboard_app import make_app
from tests.test_daily_use import settle, until


async def test_the_help_title_names_the_keys_that_close_it() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        title = str(app.screen.query_one("#title").render())
        assert title == "Keys · esc / q / ? to close"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_a_remapped_close_key_is_the_one_named() -> None:
    app = make_app()
    app.settings = replace(app.settings, keymap={"help.close": "f2"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert str(app.screen.query_one("#title").render()) == "Keys · f2 to close"
        await pilot.press("f2")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
