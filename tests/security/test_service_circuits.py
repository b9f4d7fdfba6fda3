"""Against the real service: a circuit's include never reads the host, and the processes that
parse and simulate circuits hold no secret in their environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess

TOKEN = "service-token-" + "s" * 24
IBM_TOKEN = "qiskit-ibm-token-marker-123456"
AWS_KEY = "aws-secret-marker-abcdef"
HOST_LINE = "qjob-host-file-marker"


@pytest.fixture(scope="module")
def host_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("host") / "private.inc"
    path.write_text(f"{HOST_LINE};\n")
    return path


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service started with secrets in its environment, as a real deployment would be."""
    saved = dict(os.environ)
    os.environ.update(
        QJOB_TUI_SERVICE_TOKEN=TOKEN,
        QISKIT_IBM_TOKEN=IBM_TOKEN,
        AWS_SECRET_ACCESS_KEY=AWS_KEY,
    )
    try:
        proc = ServiceProcess(tmp_path_factory.mktemp("svc")).start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    yield proc
    proc.stop()


@pytest.fixture()
def client(guarded: ServiceProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=guarded.url, headers=headers, timeout=30) as http:
        yield http


def _reason(client: httpx.Client, circuit: str) -> str:
    job = wait_status(client, submit(client, circuit=circuit))
    assert job["status"] == "Failed"
    return str(job["state"]["reason"])


@pytest.mark.parametrize(
    "trick",
    [
        'OPENQASM 3.0; defcalgrammar "x//"; include "{path}"; qubit[1] q;',
        "OPENQASM 3.0; defcalgrammar 'x/*'; include '{path}'; // */\nqubit[1] q;",
        'OPENQASM 3.0;\n@a "\ninclude "{path}";\nqubit[1] q;',
        'OPENQASM 2.0;\ninclude "{path}";\nqreg q[1];',
        'OPENQASM 3.0;\ninclude "/proc/self/environ";\nqubit[1] q;',
        'OPENQASM 3.0;\ninclude "../../../../../../{relative}";\nqubit[1] q;',
        'include "{path}";\nqreg q[1];',
    ],
)
def test_an_include_of_a_host_file_fails_without_reading_it(
    client: httpx.Client, host_file: Path, trick: str
) -> None:
    circuit = trick.format(path=host_file, relative=str(host_file).lstrip("/"))
    reason = _reason(client, circuit)
    assert "refused" in reason
    for secret in (HOST_LINE, TOKEN, IBM_TOKEN, AWS_KEY):
        assert secret not in reason


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return found + [child for pid_ in found for child in _descendants(pid_)]


def test_worker_processes_hold_no_secret(client: httpx.Client, guarded: ServiceProcess) -> None:
    assert guarded.proc is not None
    job = wait_status(client, submit(client))
    assert job["status"] == "Completed"
    children = _descendants(guarded.proc.pid)
    assert children, "the service ran a job without a worker process"
    for pid in children:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue  # gone already
        for secret in (TOKEN, IBM_TOKEN, AWS_KEY):
            assert secret.encode() not in environ, pid


def test_the_openqasm3_parser_child_gets_an_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OpenQASM 3 parser child gets only an allow-listed environment, and still parses."""
    from qjob_tui.wire.child_env import parser_environment
    from qjob_tui.wire.quiet import parse_qasm3_isolated

    monkeypatch.setenv("QISKIT_IBM_TOKEN", IBM_TOKEN)
    monkeypatch.setenv("LC_SECRET_TOKEN", AWS_KEY)
    monkeypatch.setenv("HOME_OF_SOMETHING", "x")
    kept = parser_environment()
    assert set(kept) <= {"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SYSTEMROOT"} | {
        name for name in kept if name.startswith("LC_")
    }
    assert IBM_TOKEN not in kept.values() and AWS_KEY not in kept.values()
    assert parse_qasm3_isolated("OPENQASM 3.0;\nqubit[1] q;\n").qpy is not None
