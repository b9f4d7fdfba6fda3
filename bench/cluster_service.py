"""The local service as the Dask benchmark runs it: the standard backends plus three more Aer
simulators, so that large jobs can spread over four backends (each runs one job at a time).

Run by ``bench/bench_dask.py``: ``python bench/cluster_service.py PORT DATA [--dask ADDRESS |
--workers N]``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qjob_tui.service.app import ServiceConfig
from qjob_tui.service.backends import default_backends
from qjob_tui.service.server import serve

AER_BACKENDS = ("aer_simulator", "aer_simulator_2", "aer_simulator_3", "aer_simulator_4")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("data", type=Path)
    parser.add_argument("--dask", default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    backends = default_backends(latency_scale=0.0)
    aer = backends["aer_simulator"]
    for name in AER_BACKENDS[1:]:
        backends[name] = replace(aer, name=name)
    config = ServiceConfig(
        data_dir=args.data, workers=args.workers, dask=args.dask, backends=backends
    )
    return serve(config, "127.0.0.1", args.port)


if __name__ == "__main__":
    sys.exit(main())
