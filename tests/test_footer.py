"""The footer's keys, also in an app that starts without focus.

Textual's web driver (the relay's browser view, textual-serve) starts the app blurred, before its
screen mounts, until the browser reports focus; the footer must show its keys all the same.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer

from qjob_tui.ui.status.footer import SteadyFooter
from tests.convergence import until


class FooterApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield SteadyFooter()


def shown_keys(app: App[None]) -> list[str]:
    footer = app.screen.query_one(Footer)
    return [key.description for key in footer.query("FooterKey")]  # type: ignore[attr-defined]


async def test_the_footer_shows_its_keys_in_an_app_that_starts_blurred() -> None:
    app = FooterApp()
    app.set_reactive(App.app_focus, False)  # as the web driver leaves it before the screen mounts
    async with app.run_test():
        await until(lambda: "Quit" in shown_keys(app), timeout=30)
        assert not app.app_focus  # shown while blurred, not because focus came back


async def test_the_footer_shows_its_keys_in_a_focused_app() -> None:
    app = FooterApp()
    async with app.run_test():
        await until(lambda: "Quit" in shown_keys(app), timeout=30)
