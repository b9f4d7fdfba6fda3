"""``GET /workloads``: jobs and sessions in one list, as IBM's workloads page has them.

A workload is a job outside any session (mode ``job``) or a whole session (mode ``session`` for a
dedicated one, ``batch``); the jobs of a session are found through it (``GET
/jobs?session_id=``). Pages follow opaque cursors over the order (created, id), so that paging
stays right while new workloads arrive. Jobs are read from SQLite (blocking: run in a thread),
sessions from the scheduler's book.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qjob_tui.service.db import Database, JobRow, iso
from qjob_tui.service.sessions import REASON_CANCELLED, Session
from qjob_tui.wire import rest

MODES = ("job", "session", "batch")
STATUSES = ("pending", "in_progress", "failed", "completed", "canceled")
SORTS = ("createdAt", "-createdAt")
DEFAULT_LIMIT = 10
MAX_LIMIT = 50

_JOB_STATUS = {
    rest.QUEUED: "pending",
    rest.RUNNING: "in_progress",
    rest.COMPLETED: "completed",
    rest.FAILED: "failed",
    rest.CANCELLED: "canceled",
}
_JOB_STATUS_BACK: dict[str, str] = {v: k for k, v in _JOB_STATUS.items()}


class WorkloadQueryError(ValueError):
    """A filter or cursor the client must fix."""


@dataclass(frozen=True)
class WorkloadQuery:
    """The filters, order and page of one ``GET /workloads``."""

    user: str | None = None
    mode: str | None = None
    statuses: tuple[str, ...] = ()
    backend: str | None = None
    tags: tuple[str, ...] = ()
    search: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    descending: bool = True
    limit: int = DEFAULT_LIMIT
    after: tuple[str, str] | None = None  # page starts past this (created, id) in list order
    before: tuple[str, str] | None = None  # page ends before this (created, id), for "previous"


def encode_cursor(key: tuple[str, str], direction: str) -> str:
    raw = json.dumps({"c": key[0], "i": key[1], "d": direction}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor holds a time and a job id: anything much longer was not made here.
MAX_CURSOR_LENGTH = 1024


def decode_cursor(token: str, expected: str) -> tuple[str, str]:
    """A cursor this service made, or WorkloadQueryError."""
    try:
        if len(token) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise WorkloadQueryError(f"{expected} is not a cursor this service gave") from None
    if (
        not isinstance(data, dict)
        or data.get("d") != expected
        or not isinstance(data.get("c"), str)
        or not isinstance(data.get("i"), str)
    ):
        raise WorkloadQueryError(f"{expected} is not a cursor this service gave")
    return data["c"], data["i"]


def session_status(session: Session) -> str:
    if session.state == "closed":
        return "canceled" if session.state_reason == REASON_CANCELLED else "completed"
    if session.state == "open":
        return "pending"
    return "in_progress"


def _usage(seconds: float, final: bool) -> dict[str, Any]:
    return {
        "qpu_charge_time_seconds": round(seconds, 6),
        "status": "complete" if final else "pending",
    }


def job_workload(row: JobRow, instance: str) -> dict[str, Any]:
    final = row.status in rest.FINAL
    return {
        "id": row.id,
        "created": row.created,
        "ended": row.finished,
        "backend": row.backend,
        "instance": instance,
        "user_id": row.details.get("user_id", "local-user"),
        "accepting_jobs": None,
        "mode": "job",
        "status": _JOB_STATUS.get(row.status, "pending"),
        "status_reason": row.reason,
        "tags": row.tags,
        "usage": _usage(row.quantum_seconds or 0.0, final),
        "estimated_running_time_seconds": row.estimated_seconds,
        # Local extensions: what the job runs and its name.
        "program": {"id": row.program},
        "name": row.name,
    }


def session_workload(
    session: Session, tags: list[str], instance: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": session.id,
        "created": iso(session.created),
        "ended": iso(session.closed_at) if session.closed_at else None,
        "backend": session.backend,
        "instance": instance,
        "user_id": session.user_id,
        "accepting_jobs": session.accepting_jobs,
        "mode": "session" if session.mode == "dedicated" else "batch",
        "status": session_status(session),
        "status_reason": session.state_reason,
        "tags": tags,
        "usage": _usage(session.elapsed_time(now), session.closed),
        "estimated_running_time_seconds": None,
        # Local extension: the session's state as GET /sessions/{id} names it.
        "state": session.state,
    }


def _job_rows(db: Database, query: WorkloadQuery, count: int) -> tuple[list[JobRow], int]:
    """Up to ``count`` matching jobs outside sessions from the page's edge, and the total."""
    where = ["session_id IS NULL"]
    args: list[object] = []
    if query.user is not None:
        where.append("COALESCE(json_extract(details, '$.user_id'), 'local-user') = ?")
        args.append(query.user)
    if query.statuses:
        statuses = [_JOB_STATUS_BACK[s] for s in query.statuses]
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        args += statuses
    if query.backend is not None:
        where.append("backend = ?")
        args.append(query.backend)
    for tag in dict.fromkeys(query.tags):
        where.append("seq IN (SELECT seq FROM job_tags WHERE tag = ?)")
        args.append(tag)
    if query.search:
        pattern = "%" + query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern += "%"
        where.append(
            "(id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' OR tags LIKE ? ESCAPE '\\')"
        )
        args += [pattern, pattern, pattern]
    if query.created_after is not None:
        where.append("created > ?")
        args.append(query.created_after)
    if query.created_before is not None:
        where.append("created < ?")
        args.append(query.created_before)
    conn = db.reader()
    clause = " AND ".join(where)
    total = int(conn.execute(f"SELECT COUNT(*) FROM jobs WHERE {clause}", args).fetchone()[0])
    page_where = list(where)
    page_args = list(args)
    # Towards the list's end from "after"; towards its start from "before" (read reversed).
    toward_end = query.before is None
    edge = query.after if toward_end else query.before
    newest_first = query.descending == toward_end
    if edge is not None:
        page_where.append("(created, id) < (?, ?)" if newest_first else "(created, id) > (?, ?)")
        page_args += list(edge)
    order = "DESC" if newest_first else "ASC"
    columns = (
        "seq, id, program, backend, status, reason, reason_code, reason_solution, name, tags,"
        " '' AS params, created, queued, running, finished, shots, estimated_seconds,"
        " quantum_seconds, caller, private, session_id, details, '' AS log"
    )
    rows = conn.execute(
        f"SELECT {columns} FROM jobs WHERE {' AND '.join(page_where)}"
        f" ORDER BY created {order}, id {order} LIMIT ?",
        [*page_args, count],
    ).fetchall()
    return [JobRow.from_sql(r) for r in rows], total


def session_tags(db: Database) -> dict[str, list[str]]:
    """The union of each session's jobs' tags (a session has none of its own)."""
    rows = db.reader().execute("SELECT session_id, tags FROM jobs WHERE session_id IS NOT NULL")
    tags: dict[str, dict[str, None]] = {}
    for row in rows:
        for tag in json.loads(row["tags"]):
            tags.setdefault(row["session_id"], {})[tag] = None
    return {sid: list(found) for sid, found in tags.items()}


def _session_matches(session: Session, tags: list[str], query: WorkloadQuery, created: str) -> bool:
    if query.user is not None and session.user_id != query.user:
        return False
    mode = "session" if session.mode == "dedicated" else "batch"
    if query.mode is not None and query.mode != mode:
        return False
    if query.statuses and session_status(session) not in query.statuses:
        return False
    if query.backend is not None and session.backend != query.backend:
        return False
    if any(tag not in tags for tag in query.tags):
        return False
    if query.search:
        needle = query.search.lower()
        if needle not in session.id.lower() and not any(needle in t.lower() for t in tags):
            return False
    if query.created_after is not None and not created > query.created_after:
        return False
    return not (query.created_before is not None and not created < query.created_before)


@dataclass(frozen=True)
class WorkloadPage:
    workloads: list[dict[str, Any]]
    total_count: int
    next_key: tuple[str, str] | None
    previous_key: tuple[str, str] | None


def list_workloads(
    db: Database,
    sessions: Iterable[Session],
    tags_of: Mapping[str, list[str]],
    query: WorkloadQuery,
    instance: str,
    now: datetime,
) -> WorkloadPage:
    """One page of workloads (blocking: reads SQLite)."""
    items: list[tuple[tuple[str, str], dict[str, Any]]] = []
    total = 0
    if query.mode in (None, "job"):
        rows, total = _job_rows(db, query, query.limit + 1)
        items += [((r.created, r.id), job_workload(r, instance)) for r in rows]
    if query.mode != "job":
        toward_end = query.before is None
        edge = query.after if toward_end else query.before
        newest_first = query.descending == toward_end
        for session in sessions:
            tags = tags_of.get(session.id, [])
            created = iso(session.created)
            if not _session_matches(session, tags, query, created):
                continue
            total += 1
            key = (created, session.id)
            if edge is not None and not (key < edge if newest_first else key > edge):
                continue
            items.append((key, session_workload(session, tags, instance, now)))
    toward_end = query.before is None
    newest_first = query.descending == toward_end
    items.sort(key=lambda item: item[0], reverse=newest_first)
    more = len(items) > query.limit
    page = items[: query.limit]
    if not toward_end:
        page.reverse()  # read backwards from "before": put back in list order
    keys = [key for key, _ in page]
    if toward_end:
        next_key = keys[-1] if more and keys else None
        previous_key = keys[0] if (query.after is not None and keys) else None
    else:
        next_key = keys[-1] if keys else None
        previous_key = keys[0] if more and keys else None
    return WorkloadPage([w for _, w in page], total, next_key, previous_key)
