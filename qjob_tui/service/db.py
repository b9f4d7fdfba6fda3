"""The service's SQLite database: every job, its tags, timestamps, log and result.

WAL mode so that list queries read while the scheduler writes, indexes for each list filter,
and writes committed before they are answered, so that a kill at any moment loses nothing that
was answered; the scheduler groups the writes that arrive together into one transaction.
The methods are blocking; the web app calls them from worker threads, never on its event loop.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from qjob_tui.wire import rest
from qjob_tui.wire.job_query import JobQuery

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    program TEXT NOT NULL,
    backend TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    reason_code INTEGER,
    reason_solution TEXT,
    name TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    params TEXT NOT NULL,
    created TEXT NOT NULL,
    queued TEXT,
    running TEXT,
    finished TEXT,
    shots INTEGER NOT NULL DEFAULT 0,
    estimated_seconds REAL NOT NULL DEFAULT 0,
    quantum_seconds REAL,
    caller TEXT,
    private INTEGER NOT NULL DEFAULT 0,
    session_id TEXT,
    details TEXT NOT NULL DEFAULT '{}',
    log TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created, seq);
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created, seq);
CREATE INDEX IF NOT EXISTS jobs_backend_created ON jobs (backend, created, seq);
CREATE INDEX IF NOT EXISTS jobs_program_created ON jobs (program, created, seq);
CREATE TABLE IF NOT EXISTS job_tags (
    tag TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
    PRIMARY KEY (tag, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS job_tags_seq ON job_tags (seq);
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY REFERENCES jobs (seq) ON DELETE CASCADE,
    body TEXT NOT NULL
);
"""

PENDING, FINAL = rest.PENDING, rest.FINAL


def iso(moment: datetime) -> str:
    """A UTC timestamp as fixed-width ISO 8601, so that text order is time order."""
    return rest.iso(moment)  # type: ignore[return-value]  # (a time in, a string out)


def now_iso() -> str:
    return iso(datetime.now(UTC))


@dataclass
class JobRow:
    """One job as stored."""

    seq: int
    id: str
    program: str
    backend: str
    status: str
    reason: str | None
    reason_code: int | None
    reason_solution: str | None
    name: str | None
    tags: list[str]
    params: str
    created: str
    queued: str | None
    running: str | None
    finished: str | None
    shots: int
    estimated_seconds: float
    quantum_seconds: float | None
    caller: str | None
    private: bool
    session_id: str | None
    details: dict[str, object] = field(default_factory=dict)
    log: str = ""

    @classmethod
    def new(
        cls,
        program: str,
        backend: str,
        params: str,
        *,
        shots: int = 0,
        tags: list[str] | None = None,
        name: str | None = None,
        caller: str | None = None,
        private: bool = False,
        session_id: str | None = None,
    ) -> JobRow:
        """A job about to be submitted; the scheduler gives it its id and times."""
        return cls(
            seq=0,
            id="",
            program=program,
            backend=backend,
            status=rest.QUEUED,
            reason=None,
            reason_code=None,
            reason_solution=None,
            name=name,
            tags=list(tags or []),
            params=params,
            created="",
            queued=None,
            running=None,
            finished=None,
            shots=shots,
            estimated_seconds=0.0,
            quantum_seconds=None,
            caller=caller,
            private=private,
            session_id=session_id,
        )

    @classmethod
    def from_sql(cls, row: sqlite3.Row | dict[str, object]) -> JobRow:
        data = dict(row)
        tags = _stored(data["tags"])
        details = _stored(data["details"])
        data["tags"] = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        data["details"] = details if isinstance(details, dict) else {}
        data["private"] = bool(data["private"])
        return cls(**data)


def _stored(text: object) -> object:
    """JSON of a stored column; a corrupt value reads as None rather than failing a list."""
    try:
        return json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return None


_LIST_COLUMNS = (
    "seq, id, program, backend, status, reason, reason_code, reason_solution, name, tags, "
    "'' AS params, created, queued, running, finished, shots, estimated_seconds, "
    "quantum_seconds, caller, private, session_id, details, '' AS log"
)


# What one list entry costs beyond its params, for a page's byte budget (an upper bound).
_ENTRY_BYTES = 2048

_INSERT_COLUMNS = (
    "id, program, backend, status, reason, reason_code, reason_solution, name, tags, params,"
    " created, queued, running, finished, shots, estimated_seconds, quantum_seconds, caller,"
    " private, session_id, details, log"
)
_INSERT_MARKS = ", ".join("?" * len(_INSERT_COLUMNS.split(",")))


def _values(row: JobRow) -> tuple[object, ...]:
    return (
        row.id,
        row.program,
        row.backend,
        row.status,
        row.reason,
        row.reason_code,
        row.reason_solution,
        row.name,
        json.dumps(row.tags),
        row.params,
        row.created,
        row.queued,
        row.running,
        row.finished,
        row.shots,
        row.estimated_seconds,
        row.quantum_seconds,
        row.caller,
        int(row.private),
        row.session_id,
        json.dumps(row.details),
        row.log,
    )


# SQLite's primary result codes for "no room" and "the write did not reach the disk".
_SQLITE_IOERR = 10
_SQLITE_FULL = 13
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


def storage_failure(exc: BaseException) -> bool:
    """True for errors of the disk under the data (full, or failing to write), not of the
    write itself: worth retrying once space is back, never the client's fault."""
    if isinstance(exc, StorageFull):
        return True
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in (_SQLITE_FULL, _SQLITE_IOERR)
        text = str(exc).lower()
        return "disk is full" in text or "disk i/o error" in text
    return isinstance(exc, OSError) and exc.errno in _NO_ROOM


# A data folder with less room than this is full: one submit alone may need more.
ROOM = 1 << 20


def has_room(folder: Path, size: int = ROOM) -> bool:
    """Whether ``size`` bytes can be taken in ``folder`` now: a file is given them, then goes.
    Allocated, not written, where the file system can (``posix_fallocate``); a file without a
    name where it can (``O_TMPFILE``), so that a kill leaves nothing behind; blocking."""
    try:
        fd, name = _scratch_file(folder)
    except OSError:
        return False
    try:
        try:
            os.posix_fallocate(fd, 0, size)
        except (AttributeError, OSError) as exc:  # no fallocate here (macOS, some mounts)
            if isinstance(exc, OSError) and exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                return False
            chunk = b"\0" * (1 << 16)
            for _ in range(0, size, len(chunk)):
                os.write(fd, chunk)
            os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        if name is not None:
            with suppress(OSError):
                os.unlink(name)


def _scratch_file(folder: Path) -> tuple[int, str | None]:
    """A file open for writing in ``folder``, and its name: none where it can have none."""
    if hasattr(os, "O_TMPFILE"):
        try:
            return os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600), None
        except OSError as exc:
            if exc.errno in _NO_ROOM:
                raise
    return tempfile.mkstemp(prefix=".room-", dir=folder)


class StorageFull(Exception):
    """A write could not reach the disk: answered 507, in IBM's error body."""

    def __init__(self, folder: Path) -> None:
        try:
            free = f"{shutil.disk_usage(folder).free:,}"
        except OSError:
            free = "an unknown number of"
        super().__init__(f"the service's disk is full: {free} bytes free in {folder}")


class Database:
    """Jobs on disk. Thread-safe: one writer at a time, readers on their own connections."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        # Bumped after every committed write: answers read at one generation stay valid
        # until the next, so identical list queries can share one rendered page.
        self.generation = 0
        self._watch: sqlite3.Connection | None = None
        self._watch_lock = threading.Lock()
        with self._writer() as conn:
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        # Text another writer stored as invalid UTF-8 must not make a read (and a list) fail.
        conn.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def _writer(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._conn()
            try:
                with conn:
                    yield conn
            finally:
                self.generation += 1

    def version(self) -> tuple[int, int]:
        """Changes whenever anything commits to the file: this service, or another process.

        SQLite's ``data_version`` moves when a connection other than the one asking commits;
        one connection kept for asking sees every writer, including this service's own.
        """
        with self._watch_lock:
            if self._watch is None:
                self._watch = self._connect()
            found = self._watch.execute("PRAGMA data_version").fetchone()
        return self.generation, int(found[0])

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
        self._watch = None

    # --- writes -----------------------------------------------------------------------------

    def insert(self, row: JobRow) -> int:
        self.insert_many([row])
        return row.seq

    def insert_many(self, rows: Sequence[JobRow]) -> None:
        """Store many jobs in one transaction (imports and benchmarks)."""
        with self._writer() as conn:
            write_insert(conn, rows)

    def mark_running(self, job_id: str, at: str) -> bool:
        """Start a queued job; False if it is no longer queued (cancelled or deleted)."""
        with self._writer() as conn:
            return write_mark_running(conn, job_id, at)

    def apply(self, writes: Sequence[Write]) -> list[object]:
        """Run many writes in ONE transaction, each in a savepoint of its own.

        The result of each write, or the exception it raised (its changes undone, the others
        kept). Nothing is committed until all have run: a caller answers a client only after
        this returns, so a kill at any moment loses nothing that was answered.
        """
        results: list[object] = []
        with self._writer() as conn:
            conn.execute("BEGIN IMMEDIATE")
            for write in writes:
                conn.execute("SAVEPOINT one_write")
                try:
                    results.append(write(conn))
                except Exception as exc:
                    if storage_failure(exc):
                        raise  # the disk's fault, not the write's: the whole group waits
                    conn.execute("ROLLBACK TO one_write")
                    results.append(exc)
                conn.execute("RELEASE one_write")
        return results

    def finish(
        self,
        job_id: str,
        status: str,
        at: str,
        *,
        reason: str | None = None,
        reason_code: int | None = None,
        reason_solution: str | None = None,
        quantum_seconds: float | None = None,
        result: str | None = None,
        details: dict[str, object] | None = None,
        only_if_pending: bool = True,
    ) -> bool:
        """Move a job to a final state in one transaction; False if it already was final."""
        with self._writer() as conn:
            return write_finish(
                conn,
                job_id,
                status,
                at,
                reason=reason,
                reason_code=reason_code,
                reason_solution=reason_solution,
                quantum_seconds=quantum_seconds,
                result=result,
                details=details,
                only_if_pending=only_if_pending,
            )

    def requeue(self, job_id: str, at: str, note: str) -> bool:
        """Put a running job back in the queue; False if it is no longer running."""
        with self._writer() as conn:
            return write_requeue(conn, job_id, at, note)

    def set_tags(self, job_id: str, tags: Sequence[str]) -> bool:
        with self._writer() as conn:
            found = conn.execute("SELECT seq FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if found is None:
                return False
            seq = found["seq"]
            conn.execute("UPDATE jobs SET tags = ? WHERE seq = ?", (json.dumps(list(tags)), seq))
            conn.execute("DELETE FROM job_tags WHERE seq = ?", (seq,))
            conn.executemany(
                "INSERT OR IGNORE INTO job_tags (tag, seq) VALUES (?, ?)",
                [(tag, seq) for tag in tags],
            )
        return True

    def set_name(self, job_id: str, name: str | None) -> bool:
        with self._writer() as conn:
            cur = conn.execute("UPDATE jobs SET name = ? WHERE id = ?", (name, job_id))
        return cur.rowcount > 0

    def delete(self, job_id: str) -> bool:
        with self._writer() as conn:
            cur = conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return cur.rowcount > 0

    # --- reads ------------------------------------------------------------------------------

    def get(self, job_id: str, *, with_params: bool = True) -> JobRow | None:
        columns = "*" if with_params else _LIST_COLUMNS
        row = self._conn().execute(f"SELECT {columns} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return JobRow.from_sql(row) if row is not None else None

    def result(self, job_id: str) -> str | None:
        row = (
            self._conn()
            .execute(
                "SELECT body FROM results JOIN jobs USING (seq) WHERE jobs.id = ?",
                (job_id,),
            )
            .fetchone()
        )
        return row["body"] if row is not None else None

    def list(
        self, query: JobQuery, *, with_params: bool = False, max_bytes: int | None = None
    ) -> tuple[list[JobRow], int]:
        """One page of jobs matching the query, and how many match in all.

        With ``max_bytes``, the page stops before the job whose params would take it over that
        many bytes (it always holds one job, so that paging by ``offset`` moves on); params are
        read only for the jobs on the page.
        """
        where: list[str] = []
        args: list[object] = []
        if query.pending is True:
            where.append("status IN ('Queued', 'Running')")
        elif query.pending is False:
            where.append("status IN ('Completed', 'Cancelled', 'Failed')")
        for column in ("backend", "program", "session_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.created_after is not None:
            where.append("created > ?")
            args.append(iso(query.created_after))
        if query.created_before is not None:
            where.append("created < ?")
            args.append(iso(query.created_before))
        for tag in dict.fromkeys(query.tags):
            where.append("seq IN (SELECT seq FROM job_tags WHERE tag = ?)")
            args.append(tag)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        order = "DESC" if query.descending else "ASC"
        conn = self._conn()
        rows = conn.execute(
            f"SELECT {_LIST_COLUMNS}, length(params) AS params_size FROM jobs{clause}"
            f" ORDER BY created {order}, seq {order} LIMIT ? OFFSET ?",
            [*args, query.limit, query.offset],
        ).fetchall()
        if query.offset == 0 and len(rows) < query.limit:
            count = len(rows)
        else:
            count = conn.execute(f"SELECT COUNT(*) FROM jobs{clause}", args).fetchone()[0]
        jobs = []
        spent = 0
        for found in rows:
            data = dict(found)
            spent += (data.pop("params_size") or 0) * with_params + _ENTRY_BYTES
            if max_bytes is not None and jobs and spent > max_bytes:
                break
            jobs.append(JobRow.from_sql(data))
        if with_params and jobs:
            marks = ", ".join("?" * len(jobs))
            found_params = conn.execute(
                f"SELECT seq, params FROM jobs WHERE seq IN ({marks})", [j.seq for j in jobs]
            ).fetchall()
            params = {r["seq"]: r["params"] for r in found_params}
            for job in jobs:
                job.params = params.get(job.seq, "null")
        return jobs, int(count)

    def pending(self) -> list[JobRow]:
        """Every job still queued or running, in order of arrival."""
        rows = (
            self._conn()
            .execute(f"SELECT {_LIST_COLUMNS} FROM jobs WHERE status IN {PENDING} ORDER BY seq")
            .fetchall()
        )
        return [JobRow.from_sql(r) for r in rows]

    def params(self, job_id: str) -> str | None:
        row = self._conn().execute("SELECT params FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row["params"] if row is not None else None

    def recent_runs(self, backend: str, limit: int = 20) -> list[tuple[str, str, int]]:
        """(running, finished, shots) of the backend's latest completed jobs, newest first."""
        rows = (
            self._conn()
            .execute(
                "SELECT running, finished, shots FROM jobs WHERE backend = ?"
                " AND status = 'Completed' AND running IS NOT NULL"
                " ORDER BY created DESC, seq DESC LIMIT ?",
                (backend, limit),
            )
            .fetchall()
        )
        return [(r["running"], r["finished"], r["shots"]) for r in rows]

    def quantum_seconds(self) -> float:
        row = self._conn().execute("SELECT COALESCE(SUM(quantum_seconds), 0) FROM jobs").fetchone()
        return float(row[0])

    def count(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    def take_result(self, job_id: str) -> str | None:
        """Read a private job's result and delete it in one transaction: it is read once."""
        with self._writer() as conn:
            row = conn.execute(
                "SELECT seq, body FROM results JOIN jobs USING (seq) WHERE jobs.id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM results WHERE seq = ?", (row["seq"],))
        return str(row["body"])

    def forget_params(self, job_id: str) -> None:
        """Drop a private job's params once it has run: they are not kept."""
        with self._writer() as conn:
            write_forget_params(conn, job_id)

    def tasks(self, job_ids: Sequence[str]) -> dict[str, tuple[JobRow, str]]:
        """The rows (without params) and params of these jobs, in one read: a batch's input."""
        if not job_ids:
            return {}
        marks = ", ".join("?" * len(job_ids))
        rows = (
            self._conn()
            .execute(
                f"SELECT {_LIST_COLUMNS}, params AS job_params FROM jobs WHERE id IN ({marks})",
                list(job_ids),
            )
            .fetchall()
        )
        found = {}
        for raw in rows:
            data = dict(raw)
            params = data.pop("job_params")
            row = JobRow.from_sql(data)
            found[row.id] = (row, str(params))
        return found

    # --- for the service's other tables (sessions, ...) in the same file -----------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this database, for tables other modules own."""
        with self._writer() as conn:
            yield conn

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection, for tables other modules own."""
        return self._conn()


# --- writes on an open transaction, for ``Database.apply`` (grouped) and the methods above -----

Write = Callable[[sqlite3.Connection], object]


def write_insert(conn: sqlite3.Connection, rows: Sequence[JobRow]) -> None:
    """Insert jobs and their tags; each row learns its ``seq``."""
    for row in rows:
        cur = conn.execute(
            f"INSERT INTO jobs ({_INSERT_COLUMNS}) VALUES ({_INSERT_MARKS})", _values(row)
        )
        row.seq = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT OR IGNORE INTO job_tags (tag, seq) VALUES (?, ?)",
            [(tag, row.seq) for tag in row.tags],
        )


def write_mark_running(conn: sqlite3.Connection, job_id: str, at: str) -> bool:
    """Start a queued job; False if it is no longer queued (cancelled or deleted)."""
    cur = conn.execute(
        "UPDATE jobs SET status = 'Running', running = ?, log = log || ?"
        " WHERE id = ? AND status = 'Queued'",
        (at, f"{at} running\n", job_id),
    )
    return cur.rowcount > 0


def write_forget_params(conn: sqlite3.Connection, job_id: str) -> None:
    conn.execute("UPDATE jobs SET params = '{}' WHERE id = ? AND private = 1", (job_id,))


def write_finish(
    conn: sqlite3.Connection,
    job_id: str,
    status: str,
    at: str,
    *,
    reason: str | None = None,
    reason_code: int | None = None,
    reason_solution: str | None = None,
    quantum_seconds: float | None = None,
    result: str | None = None,
    details: dict[str, object] | None = None,
    only_if_pending: bool = True,
) -> bool:
    """Move a job to a final state; False if it already was final."""
    line = f"{at} {status.lower()}" + (f": {reason}" if reason else "") + "\n"
    guard = " AND status IN ('Queued', 'Running')" if only_if_pending else ""
    cur = conn.execute(
        "UPDATE jobs SET status = ?, finished = ?, reason = ?, reason_code = ?,"
        " reason_solution = ?, quantum_seconds = ?,"
        " details = json_patch(details, ?), log = log || ?"
        f" WHERE id = ?{guard}",
        (
            status,
            at,
            reason,
            reason_code,
            reason_solution,
            quantum_seconds,
            json.dumps(details or {}),
            line,
            job_id,
        ),
    )
    if cur.rowcount == 0:
        return False
    if result is not None:
        conn.execute(
            "INSERT OR REPLACE INTO results (seq, body) SELECT seq, ? FROM jobs WHERE id = ?",
            (result, job_id),
        )
    return True


def write_requeue(conn: sqlite3.Connection, job_id: str, at: str, note: str) -> bool:
    """Put a running job back in the queue; False if it is no longer running."""
    done = conn.execute(
        "UPDATE jobs SET status = 'Queued', running = NULL, log = log || ? "
        "WHERE id = ? AND status = 'Running'",
        (f"{at} {note}\n", job_id),
    )
    return done.rowcount > 0
