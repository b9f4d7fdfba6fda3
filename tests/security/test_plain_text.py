"""What a server, a relay or a user types is shown as plain text: never read as Textual markup
(a ``[@click=...]`` in a job's error would be a button; a ``[b]`` would vanish), and the relay's
tokens never appear in a repr."""

from __future__ import annotations

from rich.text import Text

from qjob_tui.relay.door import RelayTokens
from tests.apps.dashboard_app import make_app, settle

HOSTILE = "refused [@click=app.quit]click me[/] [b]bold[/b]"


async def test_notifications_are_plain_text_whoever_sends_them() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.notify(HOSTILE)
        # A widget's notify asks for markup: refused. (Other words: the same notice twice is
        # shown once.)
        app.screen.notify(f"{HOSTILE} again", markup=True)
        await pilot.pause()
        shown = list(app._notifications)
        assert len(shown) >= 2
        assert all(not n.markup for n in shown)


async def test_a_typed_filter_with_brackets_is_shown_as_typed() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"[b]x[/b]", "enter")
        await settle(pilot)
        job_list = app.query_one("#jobs")
        subtitle = job_list._border_subtitle
        assert subtitle is not None and "[b]x[/b]" in subtitle.plain


def test_the_relays_tokens_stay_out_of_its_repr() -> None:
    tokens = RelayTokens(viewer="viewer-secret-1", operator="operator-secret-2")
    assert "secret" not in repr(tokens)
    assert "secret" not in str(Text(repr(tokens)))
