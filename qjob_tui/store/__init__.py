"""The job store: the only code that decides when to poll and holds job state."""

from qjob_tui.store.store import JobStore
from qjob_tui.store.store_config import StoreConfig

__all__ = ["JobStore", "StoreConfig"]
