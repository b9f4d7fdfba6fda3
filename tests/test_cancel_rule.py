"""One cancel rule, said the same by the dashboard, the store's action and the command line:
a job that ends cancelled (now or already) is a success; one that had already ended otherwise
is not, and the message names its final state (against the real service)."""

from __future__ import annotations

from pathlib import Path

import httpx

from qjob_tui.model import JobStatus
from qjob_tui.ui.app import QJobApp
from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess
from tests.test_app import make_app, select, until
from tests.test_cli_jobs import qjob


def _ended(service: ServiceProcess) -> dict[JobStatus, str]:
    """A job that was cancelled and one that is done, by their final state."""
    with httpx.Client(base_url=service.url, timeout=30) as client:
        cancelled = submit(client, backend="fake_cairo", shots=100000)
        assert client.post(f"/jobs/{cancelled}/cancel").status_code == 204
        done = submit(client, shots=10)
        assert wait_status(client, done)["status"] == "Completed"
        assert wait_status(client, cancelled)["status"] == "Cancelled"
    return {JobStatus.CANCELLED: cancelled, JobStatus.DONE: done}


SAID = {
    JobStatus.CANCELLED: ("{id} was already cancelled", "information"),
    JobStatus.DONE: (
        "{id} cannot be cancelled: it has already ended, in final state DONE",
        "warning",
    ),
}


async def test_the_dashboard_and_the_store_say_the_rule(
    service: ServiceProcess, tmp_path: Path
) -> None:
    for status, job_id in _ended(service).items():
        text, severity = SAID[status]
        expected = (text.format(id=job_id), severity)
        app: QJobApp = make_app(service, tmp_path)
        said: list[tuple[str, str]] = []
        async with app.run_test(size=(120, 40)) as pilot:
            app.notify = lambda message, said=said, **kw: said.append(  # type: ignore[method-assign]
                (str(message), str(kw.get("severity", "information")))
            )
            await select(pilot, app, job_id)
            await pilot.press("c")
            await until(pilot, lambda: expected in said, timeout=10)  # noqa: B023
            [result] = await app.store.cancel([("local", job_id)])
            assert (result.ok, result.message) == (status is JobStatus.CANCELLED, expected[0])


def test_the_command_line_says_the_rule(service: ServiceProcess, tmp_path: Path) -> None:
    for status, job_id in _ended(service).items():
        text, _ = SAID[status]
        done = qjob("cancel", job_id, "--source", service.root, home=tmp_path)
        if status is JobStatus.CANCELLED:
            assert done.returncode == 0 and done.stdout.strip() == text.format(id=job_id)
        else:
            assert done.returncode == 1 and done.stdout == ""
            assert done.stderr.strip() == "qjob-tui: " + text.format(id=job_id)


async def test_a_job_gone_while_the_dialog_is_open_is_said_gone(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """Cancelled and deleted by someone else while the dialog asks: "yes" cancels nothing and
    says it is gone (not the stale, still running copy the dialog was opened on)."""
    from qjob_tui.ui.dialogs.confirm_cancel import ConfirmCancel

    with httpx.Client(base_url=service.url, timeout=30) as client:
        job_id = submit(client, backend="fake_cairo", shots=100000)
    app: QJobApp = make_app(service, tmp_path)
    said: list[tuple[str, str]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: said.append(  # type: ignore[method-assign]
            (str(message), str(kw.get("severity", "information")))
        )
        await select(pilot, app, job_id)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancel))
        with httpx.Client(base_url=service.url, timeout=30) as client:
            assert client.post(f"/jobs/{job_id}/cancel").status_code == 204
            assert client.delete(f"/jobs/{job_id}").status_code == 204
        await until(pilot, lambda: app.store.job(("local", job_id)) is None)
        await pilot.press("y")
        gone = (f"Not cancelled: {job_id} is gone from the server.", "warning")
        await until(pilot, lambda: gone in said)
        await pilot.pause()
        assert said == [gone], said
