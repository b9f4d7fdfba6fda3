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
    max_backoff: float = 300.0
    history: int = 1000
    queue_samples: int = 720
    use_cache: bool = True
    cache_dir: Path | None = None
    # Where a server pushes its changes (GET /stream): listen, and poll only to reconcile.
    use_stream: bool = True
    reconcile_interval: float = 60.0
