"""Run qiskit-ibm-runtime's own integration tests against the local service; print the pass ratio.

The client's integration tests (``test/integration`` of its source distribution) read
``QISKIT_IBM_TOKEN``, ``QISKIT_IBM_URL`` and ``QISKIT_IBM_INSTANCE``. This script:

1. takes the tests of the installed qiskit-ibm-runtime version: the source distribution of that
   exact version, downloaded once with pip into ``$XDG_CACHE_HOME/qjob-tui/client-tests/``
   (or a source tree given with ``--source-tree``, e.g. a git checkout);
2. starts a fresh local service with an IAM API key on a free loopback port, with no device
   latency and the test device the client's job tests ask for (``test_eagle…``, see
   ``client_integration_service.py``), seeds it with a few finished jobs (a test account's
   history), and points the tests at it: the IAM exchange at the service's ``/identity/token``
   (``IAM_URL``), a URL containing ``experimental`` so the client uses it as given, a CRN
   instance, ``QISKIT_IBM_QPU=fake_perth``;
3. runs them with pytest, one test at a time, each bounded in time, and counts.

Tests that need what no local service can have are not applicable, and counted apart, each
with its reason (``NOT_APPLICABLE``). The run takes about half an hour on two busy cores.

Run: ``.venv/bin/python scripts/client_integration.py [-k EXPR] [--source-tree DIR]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qjob_tui import locations  # noqa: E402

APIKEY = "client-integration-key-0123"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::"
PER_TEST_SECONDS = 300
QPU = "fake_perth"
HISTORY = 12  # finished jobs on the device before the tests start
_LISTENING = re.compile(r"qjob-tui service: (http://127\.0\.0\.1:\d+)/api/v1")
_NO_CRN = (
    "creates a service without an instance CRN, which the client then looks up in IBM Cloud's "
    "Global Search or Resource Controller, at IBM's fixed addresses"
)
# Tests (files or node ids under test/integration/) that cannot pass against any local service.
NOT_APPLICABLE = {
    "test_proxies.py": "starts a pproxy HTTP proxy, a program the project does not install",
    "test_fake_backends.py::TestFakeBackends": "runs the client's fake backends in the test "
    "process: no request reaches a service",
    **{
        f"test_account.py::TestQuantumPlatform::{name}": _NO_CRN
        for name in (
            "test_initializing_service_no_instance",
            "test_passing_name_as_instance",
            "test_account_plans_preference",
            "test_account_region_preference",
            "test_account_preferences_tags",
            "test_instances",
            "test_jobs_before_backend",
            "test_jobs_different_instances",
            "test_service_usage",
            "test_instances_archived",
        )
    },
    "test_backend.py::TestIntegrationBackend::test_least_busy": _NO_CRN,
    "test_session.py::TestIntegrationSession::test_session_instance_logic": _NO_CRN,
    "test_backend.py::TestIBMBackend::test_backend_calibration_id": "reads the client's "
    "warning from pytest's caplog, which never sees it: the qiskit_ibm_runtime logger does "
    "not propagate (the service answers the unknown calibration id with IBM's 400)",
}


def client_version() -> str:
    return importlib.metadata.version("qiskit-ibm-runtime")


def source_tree(version: str, given: Path | None) -> Path:
    """A qiskit-ibm-runtime source tree with ``test/integration`` (downloaded once)."""
    if given is not None:
        return given
    cache = locations.cache_dir() / "client-tests"
    tree = cache / f"qiskit_ibm_runtime-{version}"
    if (tree / "test" / "integration").is_dir():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    if subprocess.run([*pip, "--version"], capture_output=True).returncode != 0:
        pip = ["python3", "-m", "pip"]  # a uv-made venv has no pip of its own
    wanted = f"qiskit-ibm-runtime=={version}"
    download = ["download", "--no-deps", "--no-binary", ":all:", "--dest", str(cache), wanted]
    subprocess.run([*pip, *download], check=True)
    with tarfile.open(cache / f"qiskit_ibm_runtime-{version}.tar.gz") as archive:
        members = [m for m in archive.getmembers() if "/test/" in m.name]
        archive.extractall(cache, members=members, filter="data")
    return tree


def start_service(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``client_integration_service.py``: the standard line-up plus the test Eagle."""
    log = work / "service.log"
    env = {**os.environ, "CLIENT_TESTS_APIKEY": APIKEY, "PYTHONPATH": str(ROOT)}
    script = ROOT / "scripts" / "client_integration_service.py"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(work / "service")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service ended: {log.read_text()[-2000:]}")
        found = _LISTENING.search(log.read_text(errors="replace"))
        if found:
            return proc, found.group(1)
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the service did not start: {log.read_text()[-2000:]}")


def seed_history(root: str, qpu: str) -> None:
    """Finished jobs on the test device, as an IBM test account has from earlier runs.

    ``test_retrieve_jobs_status`` pages past the newest five finished jobs of the device, and
    ``test_retrieve_jobs_order`` expects the ten oldest of the month not to hold a new one.
    """
    from qjob_tui.jobs import JobService

    bell = (ROOT / "examples" / "bell.qasm").read_text()
    with JobService(root, apikey=APIKEY) as jobs:
        submitted = [jobs.run(bell, backend=qpu, shots=100) for _ in range(HISTORY)]
        for job in submitted:
            job.wait_for_final_state(timeout=300)


def run(tree: Path, work: Path, selection: str | None, qpu: str) -> Path:
    """Run the tests in ``work`` (a copy of ``test/`` only, so the installed client is used)."""
    shutil.copytree(tree / "test", work / "test")
    service, root = start_service(work)
    report = work / "report.xml"
    try:
        seed_history(root, qpu)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))},
            "HOME": str(work / "home"),
            "QISKIT_IBM_TOKEN": APIKEY,
            "QISKIT_IBM_URL": f"{root}/experimental/api/v1",
            "QISKIT_IBM_INSTANCE": CRN,
            "QISKIT_IBM_QPU": qpu,
            "IAM_URL": root,
            "QISKIT_FUNCTIONS_EXPERIMENTAL": "1",
        }
        command = [sys.executable, "-m", "pytest", "test/integration"]
        command += [f"--deselect=test/integration/{name}" for name in NOT_APPLICABLE]
        command += ["-p", "no:cacheprovider", "-p", "no:xdist", "-v", "-rfE"]
        command += [f"--timeout={PER_TEST_SECONDS}", f"--junitxml={report}"]
        if selection:
            command += ["-k", selection]
        subprocess.run(command, cwd=work, env=env, timeout=4 * 3600)
    finally:
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
    return report


def outcomes(report: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        if "skipped" in kinds:
            counts["skipped"] += 1
        elif kinds & {"failure", "error"}:
            counts["failed"] += 1
        else:
            counts["passed"] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="selection", help="pytest -k expression: run only these")
    parser.add_argument("--source-tree", type=Path, help="a qiskit-ibm-runtime source tree")
    parser.add_argument("--qpu", default=QPU, help=f"QISKIT_IBM_QPU (default {QPU})")
    args = parser.parse_args()
    version = client_version()
    tree = source_tree(version, args.source_tree)
    with tempfile.TemporaryDirectory(prefix="client-tests-") as folder:
        counts = outcomes(run(tree, Path(folder), args.selection, args.qpu))
    applicable = counts["passed"] + counts["failed"]
    share = 100 * counts["passed"] / applicable if applicable else 0.0
    print(
        f"qiskit-ibm-runtime {version} integration tests against the local service: "
        f"{counts['passed']} of {applicable} applicable pass ({share:.0f} %); "
        f"{counts['skipped']} skipped by the tests themselves"
    )
    reasons = Counter(NOT_APPLICABLE.values())
    for why, count in reasons.items():
        print(f"  not applicable ({count} file(s) or test(s)): {why}")
    return 0 if applicable and counts["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
