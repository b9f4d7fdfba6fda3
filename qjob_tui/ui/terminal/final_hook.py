"""The ``on_final`` hook: a command of the user's, run when a watched job ends.

The job goes to the command's stdin as JSON (the shape ``qjob-tui show --json`` prints), with
``QJOB_ID``, ``QJOB_STATUS`` and ``QJOB_SOURCE`` in its environment; so Slack, mail or desktop
notifications are a line of shell away. The command runs through ``/bin/sh -c`` (it is the
user's own setting), never on the terminal: its stdin, stdout and stderr are pipes, so it cannot
draw over the dashboard or read its keys. It is given ``timeout`` seconds and then killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from dataclasses import dataclass

from qjob_tui.export import job_to_dict
from qjob_tui.model import Job
from qjob_tui.text import one_line

DEFAULT_TIMEOUT = 30.0
OUTPUT_LIMIT = 64 * 1024  # bytes of the command's output read (and then dropped)


@dataclass(frozen=True)
class HookOutcome:
    """How one run went: ``problem`` is None when the command exited 0 in time."""

    job_id: str
    problem: str | None = None


async def run_final_hook(command: str, job: Job, timeout: float = DEFAULT_TIMEOUT) -> HookOutcome:
    """Run the command for one job and say how it went; never raises for the command's sake."""
    env = {
        **os.environ,
        "QJOB_ID": job.id,
        "QJOB_STATUS": job.status.value,
        "QJOB_SOURCE": job.source,
    }
    body = json.dumps(job_to_dict(job)).encode() + b"\n"
    try:
        process = await asyncio.create_subprocess_shell(
            command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # the terminal's ctrl+c and hang-up are not its business
        )
    except OSError as exc:
        return HookOutcome(job.id, f"on_final could not start: {exc.strerror or exc}")
    try:
        async with asyncio.timeout(timeout):
            _, stderr = await _talk(process, body)
    except TimeoutError:
        _kill(process)
        await process.wait()
        return HookOutcome(job.id, f"on_final for {job.id} took over {timeout:g} s; stopped")
    except asyncio.CancelledError:
        _kill(process)
        raise
    if process.returncode:
        said = one_line(stderr.decode("utf-8", "replace"), 120)
        detail = f": {said}" if said else ""
        return HookOutcome(job.id, f"on_final for {job.id} exited {process.returncode}{detail}")
    return HookOutcome(job.id)


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the command's whole process group (its own session): ``sh -c`` forks the command,
    and a child left running would keep the pipes open, so the wait would last as long as it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()


async def _talk(process: asyncio.subprocess.Process, body: bytes) -> tuple[bytes, bytes]:
    assert process.stdin is not None and process.stdout is not None
    assert process.stderr is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.write(body)
        await process.stdin.drain()
    process.stdin.close()
    out, err = await asyncio.gather(
        process.stdout.read(OUTPUT_LIMIT), process.stderr.read(OUTPUT_LIMIT)
    )
    # Whatever it writes beyond the limit is drained, so a chatty command never blocks.
    await asyncio.gather(_drain(process.stdout), _drain(process.stderr))
    await process.wait()
    return out, err


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(OUTPUT_LIMIT):
        pass
