"""The cancel dialog follows its jobs while it is open: a job that ends meanwhile is said to
have ended, in its final state, and "yes" then claims no cancel (against the real service)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button

from qjob_tui.api import JobClient, Source
from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel
from tests.service_process import ServiceProcess
from tests.test_app import make_app, select, submit, until


def _said(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    parts = [
        str(screen.query_one(f"#{name}").render())
        for name in ("title", "cancel-list", "cancel-ended")
    ]
    parts += [str(note.render()) for note in screen.query("#cancel-note")]
    return "\n".join(parts)


def _notices(app: object) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


async def test_a_job_that_ends_while_the_dialog_is_open(
    service: ServiceProcess, tmp_path: Path
) -> None:
    job_id = await submit(service)
    app = make_app(service, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await select(pilot, app, job_id)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
        assert "CANCELLED" not in _said(app)
        # Someone else ends the job while the dialog is open.
        async with JobClient(Source.local(service.root)) as client:
            await client.cancel(job_id)
        await until(pilot, lambda: f"{job_id} has ended: CANCELLED" in _said(app))
        assert "Nothing left to cancel" in _said(app)
        # The button stays, disabled: a missing one would not say why "yes" does nothing.
        assert app.screen.query_one("#yes", Button).disabled
        before = len(_notices(app))
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmCancel))
        await until(pilot, lambda: len(_notices(app)) > before)
        said = _notices(app)[before:]
        # The cancel rule's words: it ended cancelled before "yes", not by it.
        assert said == [f"{job_id} was already cancelled"], said
