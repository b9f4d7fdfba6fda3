"""Daily use (issue 14), driven with keys on the fixed dashboard: nothing cut, nothing lost."""

from __future__ import annotations

import pytest

from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.dialogs.help import HelpScreen
from qjob_tui.ui.dialogs.tag_editor import TagEditor
from tests.apps.dashboard_app import EIGHT_TAGS_JOB, make_app, select, settle

SIZES = [(80, 24), (120, 40)]


def screen_text(app: QJobApp) -> str:
    """What the terminal shows, line by line, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip).rstrip() for strip in strips)


def dialog_text(app: QJobApp) -> str:
    """The text inside the dialog's thick border, lines joined by spaces, so that a sentence
    wrapped over two lines reads whole."""
    parts = []
    for line in screen_text(app).splitlines():
        if line.count("█") >= 2:
            parts.append(line[line.index("█") + 1 : line.rindex("█")].strip(" ▎▊"))
    return " ".join(part for part in parts if part)


@pytest.mark.parametrize("size", SIZES)
async def test_tag_editor_hint_and_error_are_shown_whole(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, TagEditor)
        shown = dialog_text(app)
        assert "x or delete removes the highlighted tag · ctrl+s saves" in shown
        await pilot.press(*("a" * 87), "enter")
        await settle(pilot)
        assert "'aaaaaaaaaaaaaaaaaaaa'... has 87" in dialog_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_unreachable_source_keeps_counts_and_hint(size: tuple[int, int]) -> None:
    app = make_app(variant="unreachable")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        lines = screen_text(app).splitlines()
        status = lines[-2].strip()
        assert status.startswith(("…0 ▶0", "queued 0 running 0")), status
        assert "local unreachable (ConnectError)" in status and "local: " not in status
        assert any("Send one: qjob-tui submit circuit.qasm" in line for line in lines)
        assert any("Watch a demo: qjob-tui demo" in line for line in lines)


@pytest.mark.parametrize("size", SIZES)
async def test_help_wraps_under_its_own_column(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        lines = screen_text(app).splitlines()
        first = next(i for i, line in enumerate(lines) if "filter the list:" in line)
        column = lines[first].index("filter the list:")
        if "! inverts" not in lines[first]:  # wrapped: the rest starts under the first word
            assert lines[first + 1][column - 1] == " " and lines[first + 1][column] != " "


async def test_overview_tags_wrap_under_their_value() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:  # the side pane: about 48 columns
        await settle(pilot)
        select(app, EIGHT_TAGS_JOB)
        await settle(pilot)
        lines = screen_text(app).splitlines()
        first = next(i for i, line in enumerate(lines) if "││ Tags " in line)
        column = lines[first].index("nightly")
        assert "t2" in lines[first + 1]
        assert lines[first + 1][column - 1] == " " and lines[first + 1][column] != " "
