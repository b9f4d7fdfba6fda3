"""The one-character mark of each status, beside its name on the command line."""

from __future__ import annotations

STATUS_MARK = {
    "INITIALIZING": "·",
    "QUEUED": "…",
    "VALIDATING": "…",
    "RUNNING": "▶",
    "DONE": "✔",
    "CANCELLED": "⊘",
    "ERROR": "✖",
}
