"""The ``sessions`` table: each session's record as JSON, in the jobs' SQLite file.

Sessions are few and always held in memory (``sessions.SessionBook``); the table only makes
them outlive a restart. Blocking: called from worker threads, never on the event loop.
"""

from __future__ import annotations

import json
from typing import Any

from qjob_tui.service.db import Database
from qjob_tui.service.sessions import Session

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    record TEXT NOT NULL
);
"""


class SessionTable:
    """Saves and loads session records."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as conn:
            conn.executescript(_SCHEMA)

    def save(self, records: list[dict[str, Any]]) -> None:
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO sessions (id, created, record) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                [(r["id"], r["created"], json.dumps(r)) for r in records],
            )

    def load(self) -> list[Session]:
        rows = self.db.reader().execute("SELECT record FROM sessions ORDER BY seq").fetchall()
        return [Session.from_record(json.loads(row["record"])) for row in rows]
