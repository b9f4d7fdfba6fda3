"""The soak (``make soak``, not part of ``make test``): the dashboard through a faulty network.

``qjob-tui serve --demo`` runs its workload; the dashboard (headless, the real app and store at
the default 2 s refresh) watches it through a seeded fault proxy that faults ~30 % of requests
for the soak's length (503, 429 with Retry-After, 1-10 s delays, truncated bodies, malformed
JSON, 500 with an HTML page, connection resets). Then the faults stop, and after two whole polls
every job in the dashboard's list is compared with the server's state.

The demo keeps running meanwhile, so the server is read before and after the dashboard's list:
a job matches when its status is one the server gave in that window. Missing: a job the server
had before the comparison that the list lacks. Exit 1 on any mismatch or missing job.

Run: ``python bench/soak.py [--minutes 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qjob_tui.api import JobClient, Source
from qjob_tui.model import JobStatus
from qjob_tui.store import JobStore, StoreConfig
from tests.convergence import server_state
from tests.fault_proxy import FaultProxy
from tests.service_process import ServiceProcess


async def soak(minutes: float, seed: int) -> int:
    from qjob_tui.ui.app import QJobApp
    from qjob_tui.ui.jobs.job_list import JobList

    with tempfile.TemporaryDirectory(prefix="qjob-soak-") as tmp:
        service = ServiceProcess(Path(tmp) / "svc", "--demo").start()
        proxy = FaultProxy(service.root, seed=seed, rate=0.3, duration=minutes * 60).start()
        store = JobStore([JobClient(Source.local(proxy.root))], StoreConfig(use_cache=False))
        app = QJobApp(store)
        started = time.monotonic()
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                while time.monotonic() - started < minutes * 60:
                    await pilot.pause(1.0)
                proxy.calm()
                faulted = proxy.stats.faulted
                before = await server_state(service.url)
                poller = store.pollers["local"]
                polls = poller.polls
                # The poll in flight may be an old faulted one: two whole polls after it.
                while poller.polls < polls + 3:
                    await pilot.pause(0.2)
                rows = app.query_one(JobList).rows
                shown: dict[str, JobStatus] = {}
                for index in range(len(rows)):
                    key = rows.key_at(index)
                    job = rows.job(key) if key is not None else None
                    if job is not None:
                        shown[job.id] = job.status
                after = await server_state(service.url)
        finally:
            proxy.stop()
            service.stop()
    mismatches = [
        job_id
        for job_id, status in shown.items()
        if status not in {before.get(job_id), after.get(job_id)}
    ]
    missing = [job_id for job_id in before if job_id not in shown]
    print(f"soak: {minutes:g} min of faults, seed {seed}")
    print(f"requests through the proxy: {proxy.stats.requests}, faulted: {faulted}")
    print("faults by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(proxy.stats.faults.items())))
    print(f"jobs on the server: {len(after)}, in the dashboard: {len(shown)}")
    print(f"mismatches: {len(mismatches)} {mismatches[:10]}")
    print(f"missing: {len(missing)} {missing[:10]}")
    return 1 if mismatches or missing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    return asyncio.run(soak(args.minutes, args.seed))


if __name__ == "__main__":
    sys.exit(main())
