"""The route of ``GET /workloads``: its query checked, its page answered in IBM's shape.

Imported by ``app.create_app`` once ``app`` is loaded, so that it can use the app's errors.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qjob_tui.service.query_times import created_window
from qjob_tui.service.route_errors import InvalidRequest
from qjob_tui.service.workloads import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MODES,
    SORTS,
    STATUSES,
    WorkloadQuery,
    WorkloadQueryError,
    decode_cursor,
    encode_cursor,
    list_workloads,
    session_tags,
)
from qjob_tui.text import one_line

if TYPE_CHECKING:
    from qjob_tui.service.app import JobRoutes

INSTANCE = "local"


def _many(request: Request, name: str) -> list[str]:
    """A repeated filter, as ``name=a&name=b``, ``name[]=a`` or ``name=a,b``."""
    values = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    return [part for value in values for part in value.split(",") if part]


# What may repeat: the list filters (``_many``); every other name is given once, as the job
# list's rules have it (a repeated bound would be read as one of them, silently).
REPEATABLE = frozenset({"status", "status[]", "tags", "tags[]"})


def parse_workload_query(request: Request, me: str) -> WorkloadQuery:
    params = request.query_params
    for name in dict.fromkeys(params.keys()):
        count = len(params.getlist(name))
        if count > 1 and name not in REPEATABLE:
            raise InvalidRequest(f"{one_line(name, 40)} can be given once, not {count} times")
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit:
        # ASCII digits only ("²" is a digit to str.isdigit, not to int), and few of them.
        plain = raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 9
        if not plain or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    sort = params.get("sort") or "-createdAt"
    if sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {list(SORTS)}, not {sort[:40]!r}")
    mode = params.get("mode") or None
    if mode is not None and mode not in MODES:
        raise InvalidRequest(f"mode must be one of {list(MODES)}, not {mode[:40]!r}")
    statuses = tuple(dict.fromkeys(_many(request, "status")))
    for status in statuses:
        if status not in STATUSES:
            raise InvalidRequest(f"status must be among {list(STATUSES)}, not {status[:40]!r}")
    times = created_window(params)
    after = before = None
    try:
        if params.get("next"):
            after = decode_cursor(params["next"], "next")
        if params.get("previous"):
            before = decode_cursor(params["previous"], "previous")
    except WorkloadQueryError as exc:
        raise InvalidRequest(str(exc)) from None
    if after is not None and before is not None:
        raise InvalidRequest("give next or previous, not both")
    user = params.get("user") or None
    return WorkloadQuery(
        user=me if user == "me" else user,
        mode=mode,
        statuses=statuses,
        backend=params.get("backend") or None,
        tags=tuple(_many(request, "tags")),
        search=params.get("search") or None,
        created_after=times.get("created_after"),
        created_before=times.get("created_before"),
        descending=sort == "-createdAt",
        limit=limit,
        after=after,
        before=before,
    )


class WorkloadRoutes:
    def __init__(self, service: JobRoutes) -> None:
        self.service = service

    async def list(self, request: Request) -> Response:
        query = parse_workload_query(request, self.service.config.user_id)
        db = self.service.db
        sessions = self.service.scheduler.sessions.all()
        tags_of = await asyncio.to_thread(session_tags, db) if query.mode != "job" else {}
        page = await asyncio.to_thread(
            list_workloads, db, sessions, tags_of, query, INSTANCE, datetime.now(UTC)
        )

        def link(key: tuple[str, str] | None, direction: str) -> dict[str, str] | None:
            if key is None:
                return None
            token = encode_cursor(key, direction)
            url = request.url.remove_query_params(["next", "previous"])
            return {"href": str(url.include_query_params(**{direction: token})), "cursor": token}

        return JSONResponse(
            {
                "workloads": page.workloads,
                "total_count": page.total_count,
                "limit": query.limit,
                "next": link(page.next_key, "next"),
                "previous": link(page.previous_key, "previous"),
            }
        )
