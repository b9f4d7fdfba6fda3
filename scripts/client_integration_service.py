"""The local service for qiskit-ibm-runtime's integration tests: the line-up and a test Eagle.

The client's job tests submit to the account's ``test_eagle…`` backend, a device IBM keeps for
integration tests. Here it is IBM Sherbrooke (127-qubit Eagle r3) from qiskit-ibm-runtime's
``fake_provider``, with no latency, added to the standard line-up for this run only.

Run: ``python scripts/client_integration_service.py DATA_DIR`` (the API key in
``$CLIENT_TESTS_APIKEY``); it prints the line ``qjob-tui serve`` prints once it listens.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from qjob_tui.service.app import ServiceConfig
from qjob_tui.service.backends import Device, default_backends, device_spec
from qjob_tui.service.server import serve

TEST_EAGLE = Device(
    "test_eagle_sherbrooke",
    "sherbrooke",
    "FakeSherbrooke",
    0.0,
    "IBM Sherbrooke, 127-qubit Eagle r3, as the test device of an integration-test account",
)


def main() -> int:
    backends = default_backends(latency_scale=0.0)
    spec = device_spec(TEST_EAGLE)
    if spec is None:
        print("qiskit-ibm-runtime's fake_provider is not installed", file=sys.stderr)
        return 1
    backends[spec.name] = spec
    config = ServiceConfig(
        data_dir=Path(sys.argv[1]),
        iam_apikey=os.environ["CLIENT_TESTS_APIKEY"],
        latency_scale=0.0,
        backends=backends,
    )
    return serve(config, "127.0.0.1", 0, "info")


if __name__ == "__main__":
    raise SystemExit(main())
