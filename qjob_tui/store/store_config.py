"""``StoreConfig``: how often the store polls, and how far back it looks on a cold start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoreConfig:
    """How often to poll, and how far back to look on a cold start."""

    interval: float = 2.0
    calm_interval: float = 10.0
    backend_interval: float = 30.0
    session_interval: float = 15.0  # open sessions and batches: slower than jobs
    usage_interval: float = 60.0  # the instances' usage: slower still
    max_backoff: float = 300.0
    # How often a cheap listing re-reads everything since the oldest active job (and after
    # any round with errors), to catch what a poll missed.
    reconcile_interval: float = 30.0
    # Jobs the first poll of a cold start lists (newest first); with ``backfill`` the older
    # ones follow a page per poll until the list holds every job the server has.
    history: int = 200
    backfill: bool = True
    queue_samples: int = 720
    use_cache: bool = True
    # Cached jobs read first at start-up, newest first: a screenful, painted before the rest.
    first_page: int = 100
    cache_dir: Path | None = None
    # Where a server pushes its changes (GET /stream): listen, and poll only to reconcile,
    # this often.
    use_stream: bool = True
    streaming_interval: float = 60.0
    # Requests in flight at once, for the whole store, reading the steps (and so the
    # durations) of finished jobs listed from history.
    steps_at_once: int = 4
    # No action changes a job or a session (``--readonly``; a remote viewer's dashboard).
    readonly: bool = False
