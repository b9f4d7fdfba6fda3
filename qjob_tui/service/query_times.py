"""The ``created_after`` / ``created_before`` filters of the workload list, checked by the job
list's rules (``wire/job_query.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from qjob_tui.service.route_errors import InvalidRequest
from qjob_tui.wire import rest
from qjob_tui.wire.job_query import TIMES, QueryRefused, read_time


def created_window(params: Mapping[str, str]) -> dict[str, str]:
    """The given bounds as the database's UTC form; a 400 naming the bad one otherwise."""
    times: dict[str, str] = {}
    for key in TIMES:
        value = params.get(key)
        if value:
            moment = read_time(key, value)
            if isinstance(moment, QueryRefused):
                raise InvalidRequest(moment.message)
            times[key] = rest.iso(moment) or ""
    return times
