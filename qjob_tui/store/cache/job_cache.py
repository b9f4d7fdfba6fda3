"""``JobCache``: the finished jobs of one source, in SQLite, so a restart shows history at once.

Final jobs (DONE, CANCELLED, ERROR) never change, so the store polls them once and keeps them
here; on the next start it loads them in a blink and asks the service only for what is new or
still active. One database file per source under ``$XDG_CACHE_HOME/qjob-tui/``.

It is a cache, so it must never be the reason the dashboard fails:

- WAL mode and one transaction per write: a kill at any moment leaves the old or the new state.
- A file that is not ours (garbage, truncated, another program's database, a newer schema) is
  moved aside to ``<name>.broken-<UTC timestamp>`` with its ``-wal``/``-shm``, ``problem`` says
  so in one line, and a fresh cache takes its place. Nothing is ever deleted.
- A row that no longer decodes (hand-edited, say) is skipped, not fatal.
- A file damaged inside (``PRAGMA integrity_check`` at open) counts as corrupt: a damaged index
  would otherwise hide jobs that are never fetched again.
- An unwritable cache directory or file: the cache lives in memory for this run (seeded with
  whatever the old file still holds) and ``problem`` says why.

Jobs round-trip exactly (``==``), times with their microseconds and UTC offset; a named zone
(``ZoneInfo``) comes back as the fixed offset it had. Result summaries keep counts, not shots.

The methods block (SQLite and JSON of many rows); the store calls them through
``asyncio.to_thread``. A lock makes one instance safe to share between threads, one at a time.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import re
import sqlite3
import threading
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeAlias, TypeVar

from qjob_tui import __version__, locations
from qjob_tui.model import FINAL_STATUSES, Job, JobError, QueueInfo, Step, Usage

if TYPE_CHECKING:
    from qjob_tui.results import JobResult

__all__ = [
    "MAX_OUTCOMES",
    "SCHEMA_VERSION",
    "TRUNCATED_KEY",
    "CachePosition",
    "CacheProblem",
    "JobCache",
    "cache_file_name",
]

T = TypeVar("T")

APPLICATION = "qjob-tui"
KIND = "job-cache"
# "qjob" in ASCII, in the database header: `file` and sqlite tools can tell the file apart.
APPLICATION_ID = 0x716A6F62
SCHEMA_VERSION = 1
# Distinct outcomes kept per register; a 30-bit register over 100k shots would otherwise store
# 100k rows of noise that nobody reads, but the most frequent ones are what the counts pane shows.
MAX_OUTCOMES = 4096
# Key in a cached PubResult's metadata: {register name: {"distinct": n, "shots": total}} for
# every register whose counts were cut to MAX_OUTCOMES.
TRUNCATED_KEY = "qjob_tui.cache_truncated"
BUSY_TIMEOUT_SECONDS = 5.0

CacheProblem: TypeAlias = str
"""Why a cache file was set aside or could not be used: one line, safe to show."""

CachePosition: TypeAlias = tuple[int, bytes]
"""Where a read of the cached jobs stopped: the last row's (created_us, id as UTF-8)."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created_us INTEGER NOT NULL,
    created TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_us DESC, id DESC);
CREATE TABLE IF NOT EXISTS results (job_id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS active (job_id TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES
    ('application', '{APPLICATION}'), ('kind', '{KIND}'), ('schema', '{SCHEMA_VERSION}');
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""
_TABLES = frozenset({"meta", "jobs", "results", "active"})

# SQLite primary result codes that mean "this file is not a database we can read".
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_FINAL_BY_NAME = {status.value: status for status in FINAL_STATUSES}
_EMPTY_QUEUE = QueueInfo()
_EMPTY_USAGE = Usage()
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
_decode = json.loads
_moment = datetime.fromisoformat


class _Unusable(Exception):
    """A readable SQLite file that is not a qjob-tui job cache of a schema we know."""


class _Broken(Exception):
    """The file is no usable cache; holds its connection open until the file is moved aside."""

    def __init__(self, reason: str, conn: sqlite3.Connection) -> None:
        super().__init__(reason)
        self.reason = reason
        self.conn = conn


def cache_file_name(source_name: str) -> str:
    """A file name for a source: readable slug, plus a hash so that no two names collide.

    "IBM Quantum" and "ibm-quantum" slug the same; the hash of the exact name keeps them apart,
    also on case-insensitive file systems.
    """
    ascii_name = (
        unicodedata.normalize("NFKD", source_name).encode("ascii", "ignore").decode("ascii")
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "source"
    digest = hashlib.sha256(source_name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug}-{digest}.sqlite3"


def _keyable(job_id: str) -> bool:
    """False for ids with a lone surrogate: SQLite cannot store them as UTF-8 keys."""
    try:
        job_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _keys(job_ids: Iterable[str]) -> list[tuple[str]]:
    """The storable ids as ``executemany`` parameters; the others cannot be in the cache."""
    return [(job_id,) for job_id in job_ids if _keyable(job_id)]


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch, the sort key; naive times count as UTC, as IBM's do."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _one_line(text: object) -> str:
    return " ".join(str(text).split())[:300]


def _damage(report: tuple[str] | None) -> str:
    text = report[0] if report else "no report"
    return _one_line(text.replace("*** in database main ***", ""))


def _is_corrupt(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


# --- jobs as JSON ---------------------------------------------------------------------------
# The row keeps id and created in columns (key and sort order); the body holds the rest, with
# empty and default fields left out so that 100k rows stay small and quick to parse.


def _encode_job(job: Job) -> str:
    body: dict[str, Any] = {"source": job.source, "status": job.status.value}
    if job.backend is not None:
        body["backend"] = job.backend
    if job.program is not None:
        body["program"] = job.program
    if job.tags:
        body["tags"] = list(job.tags)
    if job.name is not None:
        body["name"] = job.name
    if job.session_id is not None:
        body["session_id"] = job.session_id
    if job.steps:
        body["steps"] = [[step.name, step.at.isoformat()] for step in job.steps]
    if job.queue != _EMPTY_QUEUE:
        queue = job.queue
        body["queue"] = [
            queue.position,
            _iso(queue.estimated_start),
            _iso(queue.estimated_completion),
        ]
    if job.usage != _EMPTY_USAGE:
        body["usage"] = [job.usage.quantum_seconds, job.usage.final]
    if job.estimated_running_seconds is not None:
        body["estimated_running_seconds"] = job.estimated_running_seconds
    if job.error is not None:
        body["error"] = [job.error.code, job.error.message, job.error.solution]
    if job.private:
        body["private"] = True
    if job.user_id is not None:
        body["user_id"] = job.user_id
    return _encode(body)


def _str(value: object) -> str:
    if type(value) is not str:
        raise TypeError("expected a string")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise TypeError("expected an integer")
    return value


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if type(value) not in (float, int):
        raise TypeError("expected a number")
    return value  # type: ignore[return-value]


def _opt_moment(value: object) -> datetime | None:
    return None if value is None else _moment(value)  # type: ignore[arg-type]


def _fast_constructor(cls: type[T], names: frozenset[str]) -> Callable[..., T]:
    """``cls(**fields)`` without the frozen dataclass ``__init__``, where that is equivalent.

    A frozen dataclass sets each field through ``object.__setattr__``: for Job that is 3/4 of
    its construction time, and 100k jobs are built at every start. Handing the keyword dict
    over as the instance's ``__dict__`` gives an equal object, but only for a plain dataclass
    (no slots, no ``__post_init__``, every field in ``__init__``) whose fields are exactly the
    ones the decoder passes; otherwise, say after a change to model.py, the class itself is used.
    """
    plain = (
        dataclasses.is_dataclass(cls)
        and "__slots__" not in cls.__dict__
        and not hasattr(cls, "__post_init__")
        and all(f.init for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        and {f.name for f in dataclasses.fields(cls)} == names  # type: ignore[arg-type]
    )
    if not plain:
        return cls
    new = object.__new__
    set_attribute = object.__setattr__

    def make(**fields: object) -> T:
        instance = new(cls)
        set_attribute(instance, "__dict__", fields)
        return instance

    return make


_JOB_FIELDS = frozenset(
    {
        "id",
        "source",
        "status",
        "created",
        "backend",
        "program",
        "tags",
        "name",
        "session_id",
        "steps",
        "queue",
        "usage",
        "estimated_running_seconds",
        "error",
        "private",
        "user_id",
    }
)
_make_job = _fast_constructor(Job, _JOB_FIELDS)
_make_step = _fast_constructor(Step, frozenset({"name", "at"}))


def _decode_job(
    job_id: bytes, created: bytes, body: bytes, shared: dict[str, str], source: str | None = None
) -> Job:
    """A cached row as a Job; anything odd raises (ValueError, TypeError, KeyError ...).

    ``source`` is the nickname of the source that reads the cache now: the file is the
    server's (named by its identity), and a row saved while another nickname watched that
    server (``local``, its URL, a relay's name for it) belongs to whoever reads it now.

    Columns come as bytes: text that is not UTF-8 (a damaged or hand-edited row) then fails
    this row only, where SQLite's own decoding would fail the whole query.

    ``shared`` maps repeated strings (source, backend, program, step names) to one copy each:
    100k jobs would otherwise hold 100k copies of "ibm_torino" and 400k of "finished".
    The type checks are inline because this runs 100k times at every start.
    """
    data = _decode(body.decode())
    share = shared.setdefault
    status = _FINAL_BY_NAME[data["status"]]
    source_name, source = source, data["source"]
    backend = data.get("backend")
    program = data.get("program")
    name = data.get("name")
    session_id = data.get("session_id")
    private = data.get("private", False)
    user_id = data.get("user_id")
    if (
        type(source) is not str
        or (backend is not None and type(backend) is not str)
        or (program is not None and type(program) is not str)
        or (name is not None and type(name) is not str)
        or (session_id is not None and type(session_id) is not str)
        or (user_id is not None and type(user_id) is not str)
        or type(private) is not bool
    ):
        raise TypeError("a field has the wrong type")
    tags = data.get("tags")
    if tags:
        tags = tuple(tags)
        for tag in tags:
            if type(tag) is not str:
                raise TypeError("tags must be strings")
    else:
        tags = ()
    steps = data.get("steps")
    if steps:
        steps = tuple([_make_step(name=share(n, n), at=_moment(at)) for n, at in steps])
        for step in steps:
            if type(step.name) is not str:
                raise TypeError("step names must be strings")
    else:
        steps = ()
    queue = data.get("queue")
    usage = data.get("usage")
    error = data.get("error")
    return _make_job(
        id=job_id.decode(),
        source=share(source, source) if source_name is None else source_name,
        status=status,
        created=_moment(created.decode()),
        backend=None if backend is None else share(backend, backend),
        program=None if program is None else share(program, program),
        tags=tags,
        name=name,
        session_id=session_id,
        steps=steps,
        queue=_EMPTY_QUEUE
        if queue is None
        else QueueInfo(_opt_int(queue[0]), _opt_moment(queue[1]), _opt_moment(queue[2])),
        usage=_EMPTY_USAGE if usage is None else Usage(float(usage[0]), bool(usage[1])),
        estimated_running_seconds=_opt_float(data.get("estimated_running_seconds")),
        error=None
        if error is None
        else JobError(_opt_int(error[0]), _str(error[1]), _opt_str(error[2])),
        private=private,
        user_id=None if user_id is None else share(user_id, user_id),
    )


_DECODE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)


# --- results as JSON ------------------------------------------------------------------------


def _plain(value: object, depth: int = 0) -> object:
    """Metadata as JSON-able values: numpy scalars and arrays as numbers, the rest as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth > 20:
        return _one_line(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item, depth + 1) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    size = getattr(value, "size", None)
    if not isinstance(size, int) or size <= 1024:  # numpy scalars and small arrays
        for method in ("item", "tolist"):
            convert = getattr(value, method, None)
            if callable(convert):
                try:
                    return _plain(convert(), depth + 1)
                except (TypeError, ValueError):
                    continue
    return _one_line(value)


def _encode_result(result: JobResult, max_outcomes: int) -> str:
    from qjob_tui.results import Counts  # with the first result: the first frame needs none

    pubs = []
    for pub in result.pubs:
        registers = []
        for register in pub.registers:
            counts: Mapping[str, int] = register.counts
            if not counts and register.bitstrings:
                counts = Counts(Counter(register.bitstrings))
            entry: dict[str, Any] = {"name": register.name, "num_bits": register.num_bits}
            if len(counts) > max_outcomes:
                kept = Counts(counts).most_frequent(max_outcomes)
                entry["truncated"] = {"distinct": len(counts), "shots": sum(counts.values())}
                entry["counts"] = dict(kept)
            else:
                entry["counts"] = dict(counts)
            registers.append(entry)
        pubs.append({"registers": registers, "metadata": _plain(pub.metadata)})
    return _encode({"pubs": pubs, "metadata": _plain(result.metadata)})


def _decode_result(body: bytes) -> JobResult:
    from qjob_tui.results import Counts, JobResult, PubResult, RegisterResult

    data = _decode(body)
    pubs = []
    for pub in data["pubs"]:
        metadata = dict(pub.get("metadata") or {})
        truncated = {}
        registers = []
        for entry in pub["registers"]:
            name = _str(entry["name"])
            counts = entry["counts"]
            if not all(type(k) is str and type(v) is int for k, v in counts.items()):
                raise TypeError("counts must map bitstrings to integers")
            registers.append(RegisterResult(name, int(entry["num_bits"]), Counts(counts)))
            if entry.get("truncated"):
                truncated[name] = dict(entry["truncated"])
        if truncated:
            metadata[TRUNCATED_KEY] = truncated
        pubs.append(PubResult(tuple(registers), metadata))
    return JobResult(tuple(pubs), dict(data.get("metadata") or {}))


# --- the cache ------------------------------------------------------------------------------


class JobCache:
    """The final jobs of one source, and their result summaries, in one SQLite file."""

    def __init__(self, path: Path, identity: str | None = None, source: str | None = None) -> None:
        self.path = Path(path)
        self.identity = identity
        self.source = source  # the nickname its jobs are read under (None: as saved)
        self.problem: CacheProblem | None = None
        self.in_memory = False
        self.max_outcomes = MAX_OUTCOMES
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        with self._lock:
            self._conn = self._open()
            if identity is not None:
                self._conn = self._claim(self._conn, identity)

    @classmethod
    def for_source(
        cls, source_name: str, directory: Path | None = None, *, identity: str | None = None
    ) -> JobCache:
        """The cache of one server, in the XDG cache directory unless told otherwise.

        With ``identity`` (who the server is: see ``JobClient.identity``) the file is named
        after it, not after the source's nickname, and holds only that server's jobs.
        """
        folder = locations.cache_dir() if directory is None else Path(directory)
        return cls(folder / cache_file_name(identity or source_name), identity, source_name)

    def _claim(self, conn: sqlite3.Connection, identity: str) -> sqlite3.Connection:
        """Mark a fresh cache as this server's; set aside one that belongs to another."""
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
            if row is None:
                with _transaction(conn):
                    conn.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('identity', ?)",
                        (identity,),
                    )
                return conn
        except sqlite3.Error as exc:
            self.problem = f"cache file {self.path}: could not mark it ({_one_line(exc)})"
            return conn
        if row[0] == identity:
            return conn
        if self.in_memory:  # a copy of another server's file: start empty instead
            conn.close()
            return self._open_memory(self.problem or "cache of another server", seed=False)
        conn = self._replace_broken("it holds the jobs of another server", conn)
        with suppress(sqlite3.Error), _transaction(conn):
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('identity', ?)", (identity,)
            )
        return conn

    # --- opening ----------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        """Open the file, or set a bad one aside and start fresh, or fall back to memory."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            return self._open_memory(
                f"cache directory {self.path.parent} is not usable "
                f"({_one_line(exc.strerror or exc)}); keeping the cache in memory for this run"
            )
        try:
            return self._open_file()
        except _Broken as broken:
            return self._replace_broken(broken.reason, broken.conn)
        except sqlite3.Error as exc:
            return self._open_memory(
                f"cache file {self.path} is not usable ({_one_line(exc)}); "
                "keeping the cache in memory for this run",
                seed=True,
            )

    def _open_file(self) -> sqlite3.Connection:
        """Our database at ``path``; ``_Broken`` if the file is not one, other errors as is."""
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            self._prepare(conn, create=True)
            conn.execute("PRAGMA synchronous = NORMAL")
            # A write at every open: a read-only file or directory shows up now, not at the
            # first put, while the history can still be copied to memory.
            with _transaction(conn):
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('opened_by', ?)",
                    (f"{APPLICATION} {__version__}",),
                )
        except _Unusable as exc:
            raise _Broken(str(exc), conn) from None
        except sqlite3.Error as exc:
            if _is_corrupt(exc):
                raise _Broken(_one_line(exc), conn) from None
            conn.close()
            raise
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _prepare(conn: sqlite3.Connection, create: bool) -> None:
        """Check that the database is ours and of our schema; create it if it is empty."""
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if not tables and app_id == 0 and version == 0:
            if not create:
                raise _Unusable("empty database")
            conn.execute("PRAGMA journal_mode = WAL")
            with _transaction(conn):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            return
        if app_id != APPLICATION_ID or "meta" not in tables:
            found = ", ".join(sorted(tables)[:5]) or "no tables"
            raise _Unusable(f"not a {APPLICATION} job cache (application id {app_id}, {found})")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("application") != APPLICATION or meta.get("kind") != KIND:
            raise _Unusable(f"not a {APPLICATION} job cache ({meta.get('application')!r})")
        if version > SCHEMA_VERSION:
            raise _Unusable(
                f"written by a newer {APPLICATION} (schema {version}, this one knows "
                f"{SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION or not tables >= _TABLES:
            raise _Unusable(f"unknown cache schema {version}")
        # Damage inside the file would otherwise surface as jobs silently missing from a
        # damaged index, never fetched again. 80 ms for 100k jobs, pages the load reads anyway.
        report = conn.execute("PRAGMA integrity_check(1)").fetchone()
        if report is None or report[0] != "ok":
            raise _Unusable(f"damaged: {_damage(report)}")
        if create:
            conn.execute("PRAGMA journal_mode = WAL")

    def _replace_broken(self, reason: str, stale: sqlite3.Connection) -> sqlite3.Connection:
        """Move a bad file aside (never delete it), say so, and start a fresh cache.

        The stale connection is closed only after the move: closing the last connection makes
        SQLite delete the ``-wal`` and ``-shm`` files, part of what a post-mortem needs.
        """
        try:
            moved = self._move_aside()
        except OSError as exc:
            return self._open_memory(
                f"cache file {self.path} is unusable ({reason}) and could not be moved aside "
                f"({_one_line(exc.strerror or exc)}); keeping the cache in memory for this run"
            )
        finally:
            with suppress(sqlite3.Error):
                stale.close()
        self.problem = (
            f"cache file {self.path} was unusable ({reason}); moved it to {moved} "
            "and started a fresh cache"
        )
        try:
            return self._open_file()
        except _Broken as again:
            again.conn.close()
            failure = again.reason
        except sqlite3.Error as exc:
            failure = _one_line(exc)
        return self._open_memory(
            f"{self.problem}, but the fresh cache failed too ({failure}); "
            "keeping the cache in memory for this run"
        )

    def _move_aside(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.broken-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.broken-{stamp}-{n}")
        self.path.rename(target)
        for suffix in ("-wal", "-shm", "-journal"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
        return target

    def _open_memory(self, problem: str, seed: bool = False) -> sqlite3.Connection:
        """A cache for this run only, with the old file's history copied in if it reads."""
        self.problem = problem
        self.in_memory = True
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if seed and self.path.exists():
            uri = f"file:{urllib.parse.quote(str(self.path))}?mode=ro&immutable=1"
            try:
                source = sqlite3.connect(uri, uri=True)
                try:
                    self._prepare(source, create=False)
                    source.backup(conn)
                finally:
                    source.close()
                return conn
            except (sqlite3.Error, _Unusable):
                conn.close()
                conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._prepare(conn, create=True)
        return conn

    # --- running statements -----------------------------------------------------------

    def _run(self, what: str, action: Callable[[sqlite3.Connection], T], fallback: T) -> T:
        """Run one action; a file gone bad is set aside and the action tried once more."""
        with self._lock:
            if self._conn is None:
                raise ValueError("the cache is closed")
            try:
                return action(self._conn)
            except sqlite3.Error as exc:
                if self.in_memory or not _is_corrupt(exc):
                    self.problem = f"cache file {self.path}: could not {what} ({_one_line(exc)})"
                    return fallback
                self._conn = self._replace_broken(_one_line(exc), self._conn)
            try:
                return action(self._conn)
            except sqlite3.Error as exc:
                self.problem = f"cache file {self.path}: could not {what} ({_one_line(exc)})"
                return fallback

    # --- the API ----------------------------------------------------------------------

    def load(self) -> list[Job]:
        """Every cached job, newest first; rows that no longer decode are skipped."""
        return self._read_jobs(None, None)[0]

    def newest(self, limit: int) -> tuple[list[Job], CachePosition | None]:
        """The newest ``limit`` cached jobs, newest first, and where the older ones begin.

        A LIMIT read along the ``created`` index: the first screenful at start-up costs the
        same with 100 or 100,000 jobs cached. ``older(position)`` reads the rest.
        """
        return self._read_jobs(None, limit)

    def older(self, position: CachePosition | None) -> list[Job]:
        """Every cached job after ``position`` (from ``newest``) in the same order; with None,
        every job (``newest`` found none)."""
        return self._read_jobs(position, None)[0]

    def _read_jobs(
        self, after: CachePosition | None, limit: int | None
    ) -> tuple[list[Job], CachePosition | None]:
        """Jobs newest first, past ``after``, at most ``limit``; and the last row's position
        (read, decoded or not: a row that no longer decodes must not be read twice)."""
        sql = (
            "SELECT created_us, CAST(id AS BLOB), CAST(created AS BLOB), CAST(body AS BLOB) "
            "FROM jobs"
        )
        params: tuple[object, ...] = ()
        if after is not None:
            # The key (created_us, id) as the index orders it; ids compared as their UTF-8
            # bytes, which is SQLite's own order for text, so no row is skipped or repeated.
            sql += " WHERE created_us < ?1 OR (created_us = ?1 AND CAST(id AS BLOB) < ?2)"
            params = after
        sql += " ORDER BY created_us DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"

        def action(conn: sqlite3.Connection) -> tuple[list[Job], CachePosition | None]:
            jobs = []
            shared: dict[str, str] = {}
            last: CachePosition | None = after
            with _gc_paused():
                rows = conn.execute(sql, params).fetchall()
                for _created_us, job_id, created, body in rows:
                    try:
                        jobs.append(_decode_job(job_id, created, body, shared, self.source))
                    except _DECODE_ERRORS:
                        continue
                if rows:
                    last = (rows[-1][0], rows[-1][1])
            return jobs, last

        return self._run("load jobs", action, ([], after))

    def newest_created(self) -> datetime | None:
        """When the newest cached job was created: where ``created_after`` polling resumes.

        Only jobs that ``load`` returns count: a row that no longer decodes must not move the
        mark past itself, or the service would never be asked for that job again.
        """

        def action(conn: sqlite3.Connection) -> datetime | None:
            shared: dict[str, str] = {}
            for row in conn.execute(
                "SELECT CAST(id AS BLOB), CAST(created AS BLOB), CAST(body AS BLOB) FROM jobs "
                "ORDER BY created_us DESC, id DESC"
            ):
                try:
                    return _decode_job(*row, shared).created
                except _DECODE_ERRORS:
                    continue
            return None

        return self._run("read jobs", action, None)

    def put(self, jobs: Iterable[Job]) -> int:
        """Insert or replace the final jobs among ``jobs`` in one transaction; say how many."""
        rows: dict[str, tuple[str, int, str, str]] = {}
        for job in jobs:
            if job.status not in FINAL_STATUSES:
                continue
            if not _keyable(job.id):
                continue
            rows[job.id] = (job.id, _micros(job.created), job.created.isoformat(), _encode_job(job))
        if not rows:
            return 0

        def action(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                conn.executemany(
                    "INSERT INTO jobs (id, created_us, created, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET created_us = excluded.created_us, "
                    "created = excluded.created, body = excluded.body",
                    rows.values(),
                )
            return len(rows)

        return self._run("store jobs", action, 0)

    def save(
        self, jobs: Iterable[Job], active_ids: Iterable[str], marks: Mapping[str, str]
    ) -> bool:
        """In one transaction: the final jobs among ``jobs``, the active ids (replacing the
        list) and ``marks`` (how far the history is known). False if the write failed (disk
        full, read-only, I/O error; ``problem`` says why): then nothing was written, so the
        file still tells a consistent, older truth and the next start fetches what it lacks."""
        rows = [
            (job.id, _micros(job.created), job.created.isoformat(), _encode_job(job))
            for job in jobs
            if job.status in FINAL_STATUSES and _keyable(job.id)
        ]
        keys = _keys(active_ids)

        def action(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                conn.executemany(
                    "INSERT INTO jobs (id, created_us, created, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET created_us = excluded.created_us, "
                    "created = excluded.created, body = excluded.body",
                    rows,
                )
                conn.execute("DELETE FROM active")
                conn.executemany("INSERT OR IGNORE INTO active (job_id) VALUES (?)", keys)
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [(f"mark.{key}", value) for key, value in marks.items()],
                )
            return True

        return self._run("store jobs", action, False)

    def marks(self) -> dict[str, str]:
        """What ``save`` last recorded of how far the history is known."""

        def action(conn: sqlite3.Connection) -> dict[str, str]:
            rows = conn.execute("SELECT key, value FROM meta WHERE key LIKE 'mark.%'")
            return {key.removeprefix("mark."): value for key, value in rows}

        return self._run("read marks", action, {})

    def put_result(self, source_id: str, result: JobResult) -> None:
        """Keep a result's counts per pub and register (not the per-shot bitstrings).

        At most ``max_outcomes`` outcomes per register, the most frequent; the pub's metadata
        then says under ``TRUNCATED_KEY`` how many there were.
        """
        body = _encode_result(result, self.max_outcomes)

        def action(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute(
                    "INSERT OR REPLACE INTO results (job_id, body) VALUES (?, ?)",
                    (source_id, body),
                )

        if not _keyable(source_id):
            return
        self._run("store a result", action, None)

    def result(self, job_id: str) -> JobResult | None:
        """The cached result summary of a job, or None (also if the row does not decode)."""

        def action(conn: sqlite3.Connection) -> JobResult | None:
            row = conn.execute(
                "SELECT CAST(body AS BLOB) FROM results WHERE job_id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return None
            try:
                return _decode_result(row[0])
            except _DECODE_ERRORS:
                return None

        if not _keyable(job_id):
            return None
        return self._run("read a result", action, None)

    def remove(self, job_ids: Iterable[str]) -> None:
        """Forget jobs (and their results), e.g. ones the service deleted."""
        keys = _keys(job_ids)
        if not keys:
            return

        def action(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.executemany("DELETE FROM jobs WHERE id = ?", keys)
                conn.executemany("DELETE FROM results WHERE job_id = ?", keys)

        self._run("remove jobs", action, None)

    def active_ids(self) -> list[str]:
        """The jobs that were still active when the dashboard last stopped.

        They may have finished while it was closed, older than ``newest_created``, so neither
        ``pending=true`` nor ``created_after`` would bring them back; the store asks for each.
        """

        def action(conn: sqlite3.Connection) -> list[str]:
            ids = []
            for (job_id,) in conn.execute("SELECT CAST(job_id AS BLOB) FROM active ORDER BY 1"):
                try:
                    ids.append(job_id.decode())
                except UnicodeDecodeError:
                    continue
            return ids

        return self._run("read active jobs", action, [])

    def set_active_ids(self, job_ids: Iterable[str]) -> None:
        """Remember which jobs are active now, replacing the previous list."""
        keys = _keys(job_ids)

        def action(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute("DELETE FROM active")
                conn.executemany("INSERT OR IGNORE INTO active (job_id) VALUES (?)", keys)

        self._run("store active jobs", action, None)

    def __len__(self) -> int:
        def action(conn: sqlite3.Connection) -> int:
            return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])

        return self._run("count jobs", action, 0)

    def close(self) -> None:
        """Close the file; SQLite folds the WAL back in. Closing twice is harmless."""
        with self._lock:
            if self._conn is None:
                return
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "memory" if self.in_memory else str(self.path)
        return f"JobCache({where})"


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while building many objects that hold no cycles.

    Each of the ~10 objects per job counts towards the collector's thresholds, so loading 100k
    jobs would run it hundreds of times over a growing heap: two thirds of the load time. Nested
    and concurrent pauses (two sources loading at once) re-enable only when the last one ends,
    and never enable a collector that someone else had disabled.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any error: all or nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
