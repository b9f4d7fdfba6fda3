"""Per-job limits, as IBM has them: a maximum execution time (the submit's ``cost``) and memory.

A job that runs longer than its ``cost`` ends ``Cancelled`` with reason code 1305, IBM's "ran too
long"; a job whose worker uses more memory than its share ends ``Failed`` with a reason that says
so. The scheduler enforces both by killing the worker, so the queue behind the job moves on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# IBM's ceiling of ``cost`` (OpenAPI ``JobCost``: 0..10800 s).
IBM_MAX_COST_SECONDS = 10_800
# The default ``cost`` of a job that gives none: far above any job these simulators run well.
DEFAULT_COST_SECONDS = 600
# Address space that Python, Qiskit and their libraries reserve without using (a worker maps
# about 1.9 GB while it holds 200 MB): added to the memory limit for the RLIMIT_AS backstop.
ADDRESS_SPACE_BASELINE = 4 * 1024**3


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes, or None where the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def fair_share(workers: int) -> int | None:
    """Each worker's share of the machine's memory, leaving one share to the rest of it."""
    total = machine_memory()
    return total // (max(workers, 1) + 1) if total else None


def resident_bytes(pid: int) -> int | None:
    """Resident memory of a process (Linux ``/proc``); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * _PAGE


try:
    _PAGE = int(os.sysconf("SC_PAGE_SIZE"))
except (ValueError, OSError, AttributeError):  # pragma: no cover - every POSIX system has it
    _PAGE = 4096


def mebibytes(size: int) -> str:
    return f"{size / 1024**2:,.0f} MiB"


@dataclass(frozen=True)
class JobLimits:
    """What one job may use: seconds of execution (default and ceiling) and bytes of memory."""

    default_seconds: int = DEFAULT_COST_SECONDS
    max_seconds: int = IBM_MAX_COST_SECONDS
    memory_limit_bytes: int | None = None
