"""The SQLite cache of final jobs, one file per server."""

from qjob_tui.store.cache.job_cache import JobCache

__all__ = ["JobCache"]
