"""``qjob-tui submit FILE`` checks the file is an OpenQASM 2 or 3 program before sending it: a
README, a QPY file or a program with a typo is a usage error said at once, not a job that fails
on the server with 1501."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.service_process import ServiceProcess
from tests.test_cli_jobs import qjob

ROOT = Path(__file__).resolve().parent.parent


def _names(service: ServiceProcess, home: Path) -> list[str]:
    listed = qjob("ls", "--json", "--limit", "100", "--source", service.root, home=home)
    assert listed.returncode == 0, listed.stderr
    return [job["name"] for job in json.loads(listed.stdout)]


def _qpy_file(path: Path) -> Path:
    from qiskit import QuantumCircuit, qpy

    circuit = QuantumCircuit(1, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    with path.open("wb") as out:
        qpy.dump(circuit, out)
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: ROOT / "README.md", "is not an OpenQASM 2 or 3 program"),
        (lambda tmp: _qpy_file(tmp / "bell.qpy"), "is a QPY file"),
        (
            lambda tmp: _write(tmp / "typo.qasm", "OPENQASM 2.0;\nqreg q[2];\nhh q[0];\n"),
            "line 3",
        ),
        (lambda tmp: _write(tmp / "v4.qasm", "OPENQASM 4.0;\nqubit q;\n"), "version 4"),
        (lambda tmp: _write(tmp / "empty.qasm", ""), "is empty"),
        (lambda tmp: _write(tmp / "big.log", "a log line\n" * 20000), "no 'OPENQASM' header"),
        (lambda tmp: _fifo(tmp / "pipe.qasm"), "is not a regular file"),
        (lambda tmp: _link(tmp / "zero.qasm", Path("/dev/zero")), "is not a regular file"),
        (lambda tmp: _sparse(tmp / "huge.qasm", 33 * 2**20), "more than a job may send"),
        (lambda tmp: _write(tmp / ".env", f"QJOB_TUI_SERVICE_TOKEN={SECRET}\n"), "no 'OPENQASM'"),
    ],
    ids=["readme", "qpy", "typo", "version", "empty", "big", "fifo", "device", "huge", "env"],
)
def test_a_file_that_is_no_openqasm_program_is_refused_before_sending(
    service: ServiceProcess, tmp_path: Path, make: object, words: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    name = f"refused-{path.name}"
    done = qjob("submit", str(path), "--name", name, "--source", service.root, home=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert str(path) in lines[0] and words in lines[0]
    assert "expected" in lines[0] or words == "line 3"
    assert done.stdout == ""
    assert SECRET not in done.stderr  # nothing of a file that is no program is quoted
    assert name not in _names(service, tmp_path)


def test_an_openqasm_3_program_and_the_example_are_sent(
    service: ServiceProcess, tmp_path: Path
) -> None:
    program = _write(
        tmp_path / "bell3.qasm",
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\n'
        "h q[0];\ncx q[0], q[1];\nc = measure q;\n",
    )
    for path in (program, ROOT / "examples" / "bell.qasm"):
        done = qjob("submit", str(path), "--shots", "16", "--source", service.root, home=tmp_path)
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.strip()) == 20


SECRET = "s3cr3t-T0ken-abcdefghijklmnop"


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # nothing ever writes to it: reading would wait for ever
    return path


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        out.write(b"OPENQASM 2.0;\n")
        out.truncate(size)
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
