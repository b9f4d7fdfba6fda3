"""The cluster as the service reports it: in ``GET /backends`` messages and ``GET /health``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class WorkerLoad:
    """One Dask worker: the job it runs for this service (if any) and its machine's load."""

    address: str
    job_id: str | None = None
    cpu_percent: float = 0.0
    memory_bytes: int = 0
    memory_limit: int = 0


@dataclass(frozen=True)
class ClusterStatus:
    """Connected with its workers, or unreachable since when and why."""

    address: str
    connected: bool
    workers: tuple[WorkerLoad, ...] = ()
    unreachable_since: datetime | None = None
    error: str = ""

    @property
    def busy(self) -> int:
        return sum(1 for worker in self.workers if worker.job_id is not None)

    @property
    def summary(self) -> str:
        """One line for a backend's status message."""
        if not self.connected:
            since = (
                f" since {self.unreachable_since:%H:%M:%S} UTC" if self.unreachable_since else ""
            )
            return f"Dask scheduler {self.address} unreachable{since}; jobs wait in the queue"
        if not self.workers:
            return f"Dask {self.address}: no workers yet; jobs wait in the queue"
        cpu = sum(worker.cpu_percent for worker in self.workers) / len(self.workers)
        memory = sum(worker.memory_bytes for worker in self.workers)
        return (
            f"Dask {self.address}: {len(self.workers)} workers, {self.busy} busy, "
            f"cpu {cpu:.0f}%, memory {_size(memory)}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": "dask",
            "address": self.address,
            "connected": self.connected,
            "unreachable_since": (
                self.unreachable_since.isoformat() if self.unreachable_since else None
            ),
            "error": self.error,
            "message": self.summary,
            "workers": [
                {
                    "address": worker.address,
                    "job_id": worker.job_id,
                    "cpu_percent": worker.cpu_percent,
                    "memory_bytes": worker.memory_bytes,
                    "memory_limit": worker.memory_limit,
                }
                for worker in self.workers
            ],
        }


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns


def annotate_device(device: dict[str, Any], status: ClusterStatus) -> dict[str, Any]:
    """A ``GET /backends`` entry with the cluster's state: paused while it is unreachable."""
    state = "online" if status.connected else "paused"
    return {**device, "status": {"name": state, "reason": status.summary}}


def annotate_backend_status(body: dict[str, Any], status: ClusterStatus) -> dict[str, Any]:
    """A ``GET /backends/{name}/status`` answer with the cluster's state in its message."""
    return {
        **body,
        "status": "active" if status.connected else "paused",
        "message": status.summary,
    }
