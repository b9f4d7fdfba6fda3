"""The words after a cancel of several jobs: how many were cancelled, and for the others why not.

One job's cancel says what the cancel rule says (``model.cancel_outcome``: "cancelled ID", as
the command line does); several jobs' say "cancelled 3 jobs", or, when some were not, how many
of how many and each other job's own line. "done" is never said: it reads like the DONE status.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.notifications import SeverityLevel

from qjob_tui.model import JobStatus
from qjob_tui.store.changes import ActionResult, JobKey

LINES_SHOWN = 5  # the other jobs' lines in one notice; the rest are counted


def cancel_notice(
    results: Sequence[ActionResult], status_of: Callable[[JobKey], JobStatus | None]
) -> tuple[str, SeverityLevel]:
    """The notice for a cancel's results and its severity. ``status_of`` is the job's status
    now: a job counts as cancelled when its cancel went through and it is CANCELLED."""
    if len(results) == 1:
        (result,) = results
        return result.message, "information" if result.ok else "error"
    cancelled = [r for r in results if r.ok and status_of(r.key) is JobStatus.CANCELLED]
    others = [r for r in results if r not in cancelled]
    total = len(results)
    if not others:
        return f"cancelled {total} jobs", "information"
    if cancelled:
        head = f"cancelled {len(cancelled)} of {total} jobs; not cancelled:"
    else:
        head = f"none of the {total} jobs was cancelled:"
    lines = [r.message for r in others[:LINES_SHOWN]]
    if len(others) > LINES_SHOWN:
        lines.append(f"and {len(others) - LINES_SHOWN} more")
    return "\n".join([head, *lines]), "warning" if cancelled else "error"
