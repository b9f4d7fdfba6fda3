"""``qjob-tui ls / show / submit / cancel / tag``, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.child_signals import default_sigint, user_env
from tests.http_helpers import BELL
from tests.service_process import ServiceProcess, free_port


def qjob(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_submit_show_tag_cancel_ls(service: ServiceProcess, tmp_path: Path) -> None:
    circuit = tmp_path / "bell.qasm"
    circuit.write_text(BELL)
    src = ("--source", service.root)
    done = qjob(
        "submit",
        str(circuit),
        "--shots",
        "64",
        "--tag",
        "cli",
        "--name",
        "cli bell",
        *src,
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    assert len(job_id) == 20

    shown = qjob("show", job_id, "--json", *src, home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["id"] == job_id and detail["tags"] == ["cli"] and detail["name"] == "cli bell"
    text = qjob("show", job_id, *src, home=tmp_path)
    assert f"Job       {job_id}" in text.stdout and "Backend   basic_simulator" in text.stdout

    tagged = qjob("tag", job_id, "x", "y", *src, home=tmp_path)
    assert tagged.returncode == 0 and tagged.stdout.strip() == f"{job_id}: x, y"
    listed = qjob("ls", "--json", "--tag", "x", *src, home=tmp_path)
    assert [j["id"] for j in json.loads(listed.stdout)] == [job_id]
    table = qjob("ls", "--tag", "y", *src, home=tmp_path)
    assert table.stdout.splitlines()[0].split() == [
        "ID", "STATUS", "BACKEND", "PROGRAM", "CREATED", "NAME", "TAGS"
    ]  # fmt: skip
    assert job_id in table.stdout

    long = subprocess_submit(service, tmp_path, circuit)
    cancelled = qjob("cancel", long, *src, home=tmp_path)
    assert cancelled.returncode == 0 and cancelled.stdout.strip() == f"cancelled {long}"
    again = qjob("cancel", long, *src, home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{long} was already cancelled"
    for _ in range(300):  # the small job is done by now, or very soon
        state = json.loads(qjob("show", job_id, "--json", *src, home=tmp_path).stdout)["status"]
        if state == "DONE":
            break
    done = qjob("cancel", job_id, *src, home=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{job_id} cannot be cancelled: it has already ended, in final state DONE" in done.stderr


def subprocess_submit(service: ServiceProcess, home: Path, circuit: Path) -> str:
    done = qjob(
        "submit", str(circuit), "--backend", "fake_cairo", "--shots", "100000",
        "--source", service.root, home=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("show", "nope"), 1, "Job not found: nope"),
        (("tag", "nope", *[str(i) for i in range(9)]), 2, "at most 8 tags"),  # usage: rc 2
        (("submit", "/no/such.qasm"), 2, "cannot read /no/such.qasm"),
        (("ls", "--limit", "0"), 2, "must be 1 or more"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    service: ServiceProcess, tmp_path: Path, args: tuple[str, ...], code: int, words: str
) -> None:
    done = qjob(*args, "--source", service.root, home=tmp_path)
    assert done.returncode == code
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_source_and_unreachable_service(tmp_path: Path) -> None:
    unknown = qjob("ls", "--source", "nowhere", home=tmp_path)
    assert unknown.returncode == 2 and "unknown source 'nowhere'" in unknown.stderr
    dead = qjob("ls", "--source", f"http://127.0.0.1:{free_port()}", home=tmp_path)
    assert dead.returncode == 1 and "unreachable" in dead.stderr
    no_ibm = qjob("ls", "--source", "ibm", home=tmp_path)
    assert no_ibm.returncode == 2 and "no IBM Quantum account found" in no_ibm.stderr


def test_a_broken_accounts_file_is_reported(tmp_path: Path) -> None:
    qiskit = tmp_path / ".qiskit"
    qiskit.mkdir()
    (qiskit / "qiskit-ibm.json").write_text('{"default": {"token": "sekrit-key",')
    done = qjob("ls", home=tmp_path)
    assert done.returncode == 2
    assert "qiskit-ibm.json" in done.stderr and "sekrit-key" not in done.stderr


def test_ls_watch_prints_changes_until_interrupted(service: ServiceProcess, tmp_path: Path) -> None:
    import signal
    import time

    env = user_env(tmp_path) | {"PYTHONUNBUFFERED": "1"}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "qjob_tui", "ls", "--watch", "--source", service.root],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl+C's signal as a terminal sends it, whatever this run inherited: under nohup (a
        # CI wrapper, 'make test &') SIGINT comes ignored, and the child would inherit that.
        preexec_fn=default_sigint,
    )
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()
        assert first.split()[:2] in (["ID", "STATUS"], ["no", "jobs"])
        circuit = tmp_path / "bell.qasm"
        circuit.write_text(BELL)
        job_id = qjob(
            "submit", str(circuit), "--source", service.root, home=tmp_path
        ).stdout.strip()
        seen = ""
        deadline = time.monotonic() + 60
        while "DONE" not in seen and time.monotonic() < deadline:
            line = watcher.stdout.readline()
            if job_id in line:
                seen += line
        assert "new" in seen and "DONE" in seen
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            code = watcher.wait(timeout=30)
        finally:
            if watcher.poll() is None:  # never left running, whatever failed
                watcher.kill()
                watcher.wait()
    assert code == 0
