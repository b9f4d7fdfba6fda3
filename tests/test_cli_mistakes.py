"""The mistakes people make on the command line: each is one line, with the right exit code.

Options mean the same wherever they stand, ids are checked before they reach a URL, and a bad
URL, port or token is refused at once (rc 2), never tried five times.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from qjob_tui.cli.commands import format_job
from qjob_tui.model import Job, JobStatus
from tests.http_helpers import BELL, submit
from tests.service_process import ServiceProcess, free_port


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    env.update(XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    env.update(XDG_STATE_HOME=str(home / "state"))
    env.update(extra)
    return env


def qjob(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(home, **env),
        stdin=subprocess.DEVNULL,
    )


def _one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def job_id(service: ServiceProcess) -> str:
    with httpx.Client(base_url=service.url) as http:
        return submit(http, tags=["kept"])


def _tags(service: ServiceProcess, job_id: str) -> list[str]:
    return list(httpx.get(f"{service.url}/jobs/{job_id}").json()["tags"])


def test_a_source_before_the_command_is_the_one_acted_on(
    service: ServiceProcess, job_id: str, tmp_path: Path
) -> None:
    # The default local service (QJOB_TUI_URL) is the real one; the option names a dead port.
    done = qjob(
        "--source", "http://127.0.0.1:1", "tag", job_id, "changed",
        home=tmp_path, QJOB_TUI_URL=service.root,
    )  # fmt: skip
    assert "127.0.0.1:1" in _one_line(done, 1)
    assert _tags(service, job_id) == ["kept"]
    done = qjob("--source", service.root, "show", job_id, home=tmp_path)
    assert done.returncode == 0 and job_id in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--readonly", "ls"),
        ("--theme", "nord", "cancel", "x"),
        ("--source", "local", "serve"),
        ("--source", "local", "--source", "ibm", "show", "x"),
        ("ls", "--source", "local", "--source", "ibm"),
        ("ls", "--limit", "many"),
        ("serve", "--latency-scale", "nan"),
        ("serve", "--latency-scale", "inf"),
        ("relay", "--idle-timeout", "nan"),
        ("relay", "--timeout", "1e300"),
        ("demo", "--source", "http://[::1"),
        ("ls", "--refresh", "5"),
        ("--refresh", "5", "ls"),
        ("--source", "local", "demo"),
        ("relay", "--max-sessions", "-1"),
        ("nosuch",),
    ],
)
def test_a_misplaced_or_repeated_option_is_refused(args: tuple[str, ...], tmp_path: Path) -> None:
    _one_line(qjob(*args, home=tmp_path), 2)


@pytest.mark.parametrize("bad", ["../jobs/{id}", "{id}?x=y", "", "a\tb", "{id}/cancel", ".."])
@pytest.mark.parametrize("command", ["show", "cancel", "tag"])
def test_an_id_no_server_gives_is_refused(
    service: ServiceProcess, job_id: str, tmp_path: Path, command: str, bad: str
) -> None:
    args = [command, bad.format(id=job_id), "--source", service.root]
    if command == "tag":
        args.append("changed")
    line = _one_line(qjob(*args, home=tmp_path), 2)
    assert "is not a job id" in line
    assert _tags(service, job_id) == ["kept"]
    job = httpx.get(f"{service.url}/jobs/{job_id}").json()
    assert job["status"] != "Cancelled"


@pytest.mark.parametrize(
    ("source", "env", "said"),
    [
        ("http://127.0.0.1:99999", {}, "port"),
        ("http://[::1", {}, "not a URL"),
        ("http://[", {}, "not a URL"),
        ("ftp://127.0.0.1", {}, "http://"),
        ("http://exa mple.com", {}, "not a URL"),
        # Full-width letters (a crash before): the client's own URL parser has the last word.
        ("http://" + "".join(chr(ord(c) + 0xFEE0) for c in "localhost") + ":18001", {}, "IDNA"),
        ("http://xn--zz.com", {}, "not a URL"),  # an A-label that decodes to nothing
        ("http://127.0.0.1:0", {}, "port"),
        ("http://user:hunter2pass@127.0.0.1:1", {}, "password"),
        ("{root}/?token=hunter2tok", {}, "query"),
        ("{root}#hunter2frag", {}, "fragment"),
        ("{root}", {"QJOB_TUI_SERVICE_TOKEN": "tökén"}, "ASCII"),
        ("{root}", {"QJOB_TUI_SERVICE_TOKEN": "a\nb"}, "line breaks"),
        ("local", {"QJOB_TUI_URL": "http://127.0.0.1:99999"}, "QJOB_TUI_URL"),
        ("ibm", {"QISKIT_IBM_URL": "http://[", "QISKIT_IBM_TOKEN": "key12345"}, "url"),
        ("ibm", {"QISKIT_IBM_TOKEN": "tök12345"}, "API key"),
        ("ibm", {"QISKIT_IBM_TOKEN": "key12345", "QISKIT_IBM_INSTANCE": "crn:ü"}, "instance"),
    ],
)
@pytest.mark.parametrize("command", [("ls",), ("usage",), ("cancel", "{id}")])
def test_a_bad_url_port_or_token_is_refused_at_once(
    service: ServiceProcess,
    job_id: str,
    tmp_path: Path,
    command: tuple[str, ...],
    source: str,
    env: dict[str, str],
    said: str,
) -> None:
    if "QISKIT_IBM_TOKEN" in env:
        crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/b:c::"
        env = {"QISKIT_IBM_INSTANCE": crn, **env}
    args = [part.format(id=job_id) for part in command]
    done = qjob(*args, "--source", source.format(root=service.root), home=tmp_path, **env)
    line = _one_line(done, 2)
    assert said in line and "tries" not in line
    for value in env.values():
        if value.startswith("t") or "\n" in value:  # the tokens: never shown
            assert value not in done.stderr
    assert "hunter2" not in done.stderr


def test_tag_echoes_the_tags_cleaned(service: ServiceProcess, job_id: str, tmp_path: Path) -> None:
    done = qjob("tag", job_id, "a\u200bb", "c\u202ed", "--source", service.root, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\u200b" not in done.stdout and "\u202e" not in done.stdout
    httpx.put(f"{service.url}/jobs/{job_id}/tags", json={"tags": ["kept"]}).raise_for_status()


def test_usage_refuses_a_malformed_account_file_as_ls_does(tmp_path: Path) -> None:
    (tmp_path / ".qiskit").mkdir()
    (tmp_path / ".qiskit" / "qiskit-ibm.json").write_text("{not json")
    for command in ("ls", "usage"):
        assert "qiskit-ibm.json" in _one_line(qjob(command, home=tmp_path), 2)


def test_show_names_the_source_once() -> None:
    job = Job(id="abc", source="(environment)", status=JobStatus.DONE, created=datetime.now(UTC))
    text = format_job(job)
    assert "((" not in text and "Source    (environment)" in text


def test_a_server_that_never_answers_is_reported_while_waiting(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        root = f"http://127.0.0.1:{silent.getsockname()[1]}"
        done = qjob("ls", "--source", root, home=tmp_path, QJOB_TUI_TIMEOUT="1")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    waiting = [
        line for line in lines if line.startswith(f"qjob-tui: waiting for {root}/api/v1/jobs")
    ]
    assert waiting and all(re.search(r": \d+ s, try [1-5] of 5$", line) for line in waiting)
    # The source is named by its URL: the error does not say it again.
    assert lines[-1] == f"qjob-tui: {root}: timed out after 5 tries (no answer within 1 s)"
    assert len(lines) == len(waiting) + 1


def test_a_bad_timeout_is_refused(tmp_path: Path) -> None:
    for value in ("nan", "-1", "soon"):
        line = _one_line(qjob("ls", home=tmp_path, QJOB_TUI_TIMEOUT=value), 2)
        assert "QJOB_TUI_TIMEOUT" in line


def test_a_body_over_the_limit_is_refused_with_the_services_words(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path / "small", "--max-body", "2MiB").start()
    try:
        circuit = tmp_path / "big.qasm"
        gates = "h q[0];\n" * (12 * 1024 * 1024 // 8)
        circuit.write_text(f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n{gates}')
        line = _one_line(qjob("submit", str(circuit), "--source", service.root, home=tmp_path), 1)
        assert "larger than this service's limit" in line and "tries" not in line
    finally:
        service.stop()


@pytest.mark.parametrize("tag", ["a\x01b", "a\x1b[31mb", "line\nbreak"])
def test_a_tag_filter_with_control_characters_is_refused(
    service: ServiceProcess, tmp_path: Path, tag: str
) -> None:
    answer = httpx.get(f"{service.url}/jobs", params={"tags": tag})
    assert answer.status_code == 400
    assert "control characters" in answer.json()["errors"][0]["message"]
    line = _one_line(qjob("ls", "--tag", tag, "--source", service.root, home=tmp_path), 1)
    assert "control characters" in line and "tries" not in line


@pytest.mark.parametrize("tags", [[""], ["x" * 300], ["a\x01"], [str(n) for n in range(40)]])
@pytest.mark.parametrize("command", ["tag", "submit"])
def test_tags_that_break_the_rules_are_a_usage_error(
    service: ServiceProcess, job_id: str, tmp_path: Path, command: str, tags: list[str]
) -> None:
    if command == "tag":
        args = ["tag", job_id, *tags]
    else:
        (tmp_path / "bell.qasm").write_text(BELL)
        args = ["submit", str(tmp_path / "bell.qasm"), *(f"--tag={tag}" for tag in tags)]
    line = _one_line(qjob(*args, "--source", service.root, home=tmp_path), 2)
    assert "tag" in line and service.root not in line
    assert _tags(service, job_id) == ["kept"]


def test_a_relay_that_is_down_is_a_failure_not_a_usage_error(
    service: ServiceProcess, tmp_path: Path
) -> None:
    assert "unreachable" in _one_line(qjob("--relay", "http://127.0.0.1:1", home=tmp_path), 1)
    # A server that is no relay: said in one line, rc 1.
    assert "/sources" in _one_line(qjob("--relay", service.root, home=tmp_path), 1)
    assert "--relay" in _one_line(qjob("--relay", "http://[::1", home=tmp_path), 2)


def test_an_unreachable_local_service_names_serve_and_source(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """A demo runs its own service, on a port of its own: a plain ``submit`` does not reach
    it, and the line says how to reach a service elsewhere, not only how to start one."""
    circuit = Path(__file__).resolve().parent.parent / "examples" / "bell.qasm"
    dead = f"http://127.0.0.1:{free_port()}"
    line = _one_line(qjob("submit", str(circuit), home=tmp_path, QJOB_TUI_URL=dead), 1)
    assert "'qjob-tui serve'" in line and "--source" in line and "demo" in line
    # The address as a dashboard's job list shows it in its title (…/api/v1) is taken.
    done = qjob("submit", str(circuit), "--source", service.url, home=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("typed", ["127.0.0.1:8799", "lab.example.org:8443/q"])
def test_an_address_without_its_scheme_is_told_the_url(typed: str, tmp_path: Path) -> None:
    said = _one_line(qjob("ls", "--source", typed, home=tmp_path), 2)
    assert said.endswith(f"as in http://{typed}")
