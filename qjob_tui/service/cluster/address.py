"""What ``--dask`` names: an existing scheduler, or a LocalCluster the service starts itself."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LOCAL_WORKERS = 64
_TCP = re.compile(r"^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


@dataclass(frozen=True)
class ClusterAddress:
    """``scheduler`` is a ``tcp://HOST:PORT`` address; or ``local_workers`` > 0 for local:N."""

    scheduler: str | None = None
    local_workers: int = 0

    @property
    def is_local(self) -> bool:
        return self.local_workers > 0

    def __str__(self) -> str:
        return self.scheduler or f"local:{self.local_workers}"


def parse_cluster_address(text: str) -> ClusterAddress:
    """``tcp://HOST:PORT`` or ``local:N``; a ValueError says what is wrong and what would do."""
    value = text.strip()
    if value.startswith("local:"):
        count = value.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
            raise ValueError(
                f"--dask local:N needs N from 1 to {MAX_LOCAL_WORKERS} worker processes, "
                f"not {count!r}"
            )
        return ClusterAddress(local_workers=int(count))
    match = _TCP.match(value)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(
            f"--dask takes tcp://HOST:PORT of a Dask scheduler or local:N, not {text!r}"
        )
    return ClusterAddress(scheduler=value)


def dask_problem(text: str) -> str | None:
    """Why ``--dask TEXT`` cannot work (a bad address, no ``distributed``), or None."""
    try:
        parse_cluster_address(text)
    except ValueError as exc:
        return str(exc)
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        return "--dask needs Dask: pip install 'qjob-tui[dask]'"
    return None
