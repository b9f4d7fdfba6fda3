"""The command line fuzzed: generated arguments, environment values and sources, run as a user
runs them (a process each) against a real service.

Whatever is typed, the answer is rc 0, 1 or 2, no traceback, and on failure one line on stderr;
and a second service that the command was not pointed at (it sits in ``$QJOB_TUI_URL`` while an
explicit ``--source`` names the first, before or after the subcommand) is left exactly as it was.
Sources that answer slowly or not at all are left to their own tests: here every source either
answers or is refused at once. The budget is fixed and derandomized: well under a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http_helpers import BELL, submit, wait_status
from tests.service_process import ServiceProcess

BUDGET = settings(
    max_examples=16,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COMMANDS = ("ls", "show", "cancel", "tag", "submit", "usage")

# Text people paste by mistake: control and format characters, paths, queries, non-ASCII.
awkward = st.lists(
    st.sampled_from([*"abz09-_./?#%&=:@ \t\n\x00\x1b\u200b\u202eéö量", "../", "%2e%2e/"]),
    max_size=12,
).map("".join)
malformed_urls = st.one_of(
    st.sampled_from(
        [
            "http://127.0.0.1:99999",
            "http://127.0.0.1:0",
            "http://[::1",
            "http://[",
            "ftp://127.0.0.1",
            "http://",
            "http://exa mple.com",
            "http://127.0.0.1:-1",
            "http://127.0.0.1:port",
        ]
    ),
    awkward.map(lambda text: f"http://{text}:{len(text) * 11111}"),
)


@pytest.fixture(scope="module")
def bystander(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service no command is pointed at: it must come out as it went in."""
    proc = ServiceProcess(tmp_path_factory.mktemp("bystander"), "--latency-scale", "0").start()
    yield proc
    proc.stop()


def _state(service: ServiceProcess) -> list[tuple[Any, ...]]:
    jobs = httpx.get(f"{service.url}/jobs", params={"limit": 200}, timeout=30).json()["jobs"]
    return sorted((j["id"], j["status"], tuple(j.get("tags") or ()), j.get("name")) for j in jobs)


@pytest.fixture(scope="module")
def jobs(service: ServiceProcess, bystander: ServiceProcess) -> dict[str, str]:
    with httpx.Client(base_url=bystander.url) as http:
        other = submit(http, tags=["untouched"])
        wait_status(http, other)
    with httpx.Client(base_url=service.url) as http:
        mine = submit(http, tags=["fuzzed"])
    return {"mine": mine, "other": other}


@st.composite
def invocations(draw: st.DrawFn) -> tuple[list[str], dict[str, str], bool]:
    """(argv with placeholders, environment, whether an explicit --source names the target)."""
    command = draw(st.sampled_from(COMMANDS))
    args: list[str] = [command]
    if command in ("show", "cancel", "tag"):
        args.append(draw(st.one_of(st.sampled_from(["{mine}", "{other}"]), awkward)))
    if command == "tag":
        args += draw(st.lists(awkward, max_size=3))
    if command == "submit":
        args.append(draw(st.sampled_from(["{bell}", "{missing}", "{folder}", "{binary}", ""])))
        if draw(st.booleans()):
            args += ["--shots", draw(st.sampled_from(["1", "0", "-3", "many", "64"]))]
    if command == "ls":
        args += draw(
            st.lists(
                st.sampled_from(
                    [["--json"], ["--pending"], ["--limit", "3"], ["--limit", "x"],
                     ["--tag", "fuzzed"], ["--tag", "\x01"], ["--backend", "fake\u202e"]]
                ),
                max_size=3,
            ).map(lambda parts: [part for group in parts for part in group])
        )  # fmt: skip
    if command in ("show", "usage") and draw(st.booleans()):
        args.append("--json")
    source = draw(
        st.one_of(st.just("{target}"), malformed_urls, st.sampled_from(["ibm", "nosuch-account"]))
    )
    where = draw(st.sampled_from(["after", "before", "none"]))
    if where == "after":
        args += ["--source", source]
    elif where == "before":
        args = ["--source", source, *args]
    env: dict[str, str] = {}
    explicit = where != "none"
    # With an explicit source, the bystander sits where a wrong default would find it.
    if explicit:
        env["QJOB_TUI_URL"] = "{bystander}"
    else:
        env["QJOB_TUI_URL"] = draw(st.one_of(st.just("{target}"), malformed_urls))
    if draw(st.booleans()):
        env["QJOB_TUI_TIMEOUT"] = draw(st.sampled_from(["20", "0", "nan", "-1", "soon", "1e9"]))
    token = draw(st.one_of(st.none(), awkward, st.just("tökén"), st.just("a\nb")))
    if token is not None:
        env["QJOB_TUI_SERVICE_TOKEN"] = token
    if draw(st.booleans()):
        env["QISKIT_IBM_URL"] = draw(st.one_of(malformed_urls, st.just("https://cloud.ibm.com")))
    return args, env, explicit


def _run(args: list[str], env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    base.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    base.update(XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    base.update(XDG_STATE_HOME=str(home / "state"))
    return subprocess.run(
        [sys.executable, "-m", "qjob_tui", *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        env={**base, "QJOB_TUI_TIMEOUT": "20", **env},
        stdin=subprocess.DEVNULL,
    )


@BUDGET
@given(invocation=invocations())
def test_whatever_is_typed_the_answer_is_one_line_and_a_known_code(
    service: ServiceProcess,
    bystander: ServiceProcess,
    jobs: dict[str, str],
    invocation: tuple[list[str], dict[str, str], bool],
) -> None:
    template, env_template, explicit = invocation
    before = _state(bystander)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "bell.qasm").write_text(BELL)
        (home / "binary.qasm").write_bytes(b"\xff\xfe\x00OPENQASM")
        (home / "folder").mkdir()
        places = {
            "target": service.root,
            "bystander": bystander.root,
            "bell": str(home / "bell.qasm"),
            "missing": str(home / "nothing.qasm"),
            "folder": str(home / "folder"),
            "binary": str(home / "binary.qasm"),
            **jobs,
        }

        def fill(text: str) -> str:
            for key, value in places.items():
                text = text.replace("{" + key + "}", value)
            return text

        args = [fill(part) for part in template]
        env = {key: fill(value) for key, value in env_template.items() if "\x00" not in value}
        args = [arg for arg in args if "\x00" not in arg]  # no argv can hold one
        done = _run(args, env, home)
    shown = f"qjob-tui {args!r} with {env!r}: rc {done.returncode}\n{done.stderr}"
    assert done.returncode in (0, 1, 2), shown
    assert "Traceback" not in done.stderr + done.stdout, shown
    errors = done.stderr.splitlines()
    if done.returncode == 0:
        assert errors == [], shown
    else:
        assert len(errors) == 1 and errors[0].startswith("qjob-tui"), shown
    if explicit:
        assert _state(bystander) == before, shown


# Settings of the servers, each with values that must be refused; a run mixes good and bad.
SERVER_OPTIONS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "serve": {
        "--port": (["0"], ["70000", "-1", "http", ""]),
        "--latency-scale": (["0", "1.5"], ["nan", "inf", "-1", "x"]),
        "--workers": (["1"], ["0", "-2", "many"]),
        "--max-body": (["1MiB"], ["0", "lots", "-5M"]),
        "--job-time": (["60"], ["0", "nan"]),
        "--job-memory": (["1GiB"], ["1", "1K"]),
        "--usage-limit": (["100"], ["inf", "nan"]),
        "--host": (["127.0.0.1"], ["0.0.0.0", "::"]),  # off loopback without a token
        "--dask": ([], ["tcp://", "local:0", "nonsense"]),
        "--data": ([], ["/etc/passwd", "/dev/null/x"]),
    },
    "relay": {
        "--port": (["0"], ["65536", "port"]),
        "--refresh": (["2"], ["0", "nan", "99999"]),
        "--idle-timeout": (["60"], ["nan", "-1", "inf"]),
        "--timeout": (["5"], ["0", "nan", "-1", "1e300"]),
        "--max-sessions": (["3"], ["0", "-1"]),
        "--host": (["127.0.0.1"], ["0.0.0.0"]),
        "--source": ([], ["http://[::1", "http://127.0.0.1:99999", "nosuch"]),
        "--ssh": ([], ["0"]),  # without key files
    },
}


@st.composite
def server_settings(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(SERVER_OPTIONS)))
    options = SERVER_OPTIONS[command]
    flags = draw(st.lists(st.sampled_from(sorted(options)), min_size=1, max_size=4, unique=True))
    bad = draw(st.sampled_from(flags))  # at least one setting is wrong
    args = [command]
    for flag in flags:
        good, wrong = options[flag]
        choices = wrong if flag == bad or not good else good
        args += [flag, draw(st.sampled_from(choices))]
    return args


@settings(BUDGET, max_examples=12)
@given(args=server_settings())
def test_a_server_given_a_bad_setting_refuses_it_in_one_line(args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        if "--data" not in args:
            args = [*args, "--data", str(home / "data")] if args[0] == "serve" else args
        try:
            done = _run(args, {}, home)
        except subprocess.TimeoutExpired:
            pytest.fail(f"qjob-tui {args!r} started instead of refusing")
    shown = f"qjob-tui {args!r}: rc {done.returncode}\n{done.stderr}"
    assert done.returncode in (1, 2), shown
    assert "Traceback" not in done.stderr, shown
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qjob-tui"), shown
