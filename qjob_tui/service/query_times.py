"""The ``created_after`` / ``created_before`` filters of the job and workload lists, checked."""

from __future__ import annotations

from collections.abc import Mapping

from qjob_tui.service.route_errors import InvalidRequest
from qjob_tui.service.scheduler import to_utc
from qjob_tui.wire.job_query import shown


def created_window(params: Mapping[str, str]) -> dict[str, str]:
    """The given bounds as the database's UTC form; a 400 naming the bad one otherwise."""
    times: dict[str, str] = {}
    for key in ("created_after", "created_before"):
        value = params.get(key)
        if value:
            try:
                times[key] = to_utc(value)
            except (ValueError, OverflowError):
                raise InvalidRequest(
                    f"{key} must be an ISO 8601 date-time, not {shown(value)}"
                ) from None
    return times
