"""The empty job list says how to get jobs with commands that work as typed for the source
shown (its address, never a secret), and says a source cannot be reached instead of hinting."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qjob_tui.api import JobClient, Source
from qjob_tui.api.relay import relay_sources
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.store.changes import SourceHealth, SourceInfo
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.empty_hint import SAMPLE_CIRCUIT, address, empty_text
from qjob_tui.ui.jobs.job_list import JobList
from tests.apps.dashboard_app import make_app
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess
from tests.test_app import until
from tests.test_daily_use import screen_text, settle

CHECKOUT = SAMPLE_CIRCUIT.parents[1]


def _dashboard(url: str, *, token: str | None = None) -> QJobApp:
    store = JobStore(
        [JobClient(Source.local(url, token))],
        StoreConfig(interval=0.2, calm_interval=0.2, use_cache=False, use_stream=False),
    )
    return QJobApp(store)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}


async def test_the_hint_sends_a_job_to_the_source_shown(
    service: ServiceProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(CHECKOUT)
    monkeypatch.setenv("HOME", str(tmp_path))  # no account of the user's: the default is elsewhere
    app = _dashboard(service.root, token="s3cret-token")
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: any(h.ok for h in app.store.health))
        await settle(pilot)
        text = screen_text(app)
        assert "No jobs yet." in text and "s3cret" not in text
        (hint,) = [line for line in text.splitlines() if "Send one: " in line]
        command = hint.split("Send one: ", 1)[1].strip(" │┃")
        assert command == f"qjob-tui submit --source {service.root} examples/bell.qasm"
        args = shlex.split(command)[1:]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "qjob_tui", *args,
            cwd=CHECKOUT, env=_env(), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
        job_id = out.decode().strip()
        job_list = app.query_one(JobList)
        await until(pilot, lambda: job_list.rows.index_of(("local", job_id)) is not None)


async def _run_cli(*args: str) -> tuple[int, str, str]:
    """``qjob-tui ARGS`` as typed in the checkout: exit code, output, errors."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qjob_tui", *args,
        cwd=CHECKOUT, env=_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_through_a_relay_the_hint_sends_jobs_to_the_service_it_watches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by a tester: the hint named the relay's source as ``--source``, and the relay
    refuses jobs. It says where jobs go instead, and a job sent there shows."""
    monkeypatch.chdir(CHECKOUT)
    service = ServiceProcess(tmp_path / "service", "--latency-scale", "0.2").start()
    try:
        relay = RelayProcess(tmp_path / "relay", "--no-web", "--source", service.root).start()
        try:
            sources = relay_sources(relay.root, None)
            (name,) = [source.name for source in sources]
            store = JobStore(
                [JobClient(source) for source in sources],
                StoreConfig(interval=0.2, calm_interval=0.2, use_cache=False, use_stream=False),
            )
            app = QJobApp(store)
            async with app.run_test(size=(160, 40)) as pilot:
                await until(pilot, lambda: any(h.ok for h in app.store.health))
                await settle(pilot)
                text = screen_text(app)
                (no_jobs,) = [
                    y for y, line in enumerate(text.splitlines()) if "No jobs yet." in line
                ]
                hint = " ".join(text.splitlines()[no_jobs + 1 : no_jobs + 3])
                said = f"Jobs sent to the service this relay watches as {name} show here"
                assert said in hint and "Watch a demo: qjob-tui demo" in hint
                assert "qjob-tui submit" not in text  # no command the relay refuses
                # True: a job sent to the service the relay watches shows in the list.
                code, out, err = await _run_cli(
                    "submit", "--source", service.root, "examples/bell.qasm"
                )
                assert code == 0, err
                job_list = app.query_one(JobList)
                key = (name, out.strip())
                await until(pilot, lambda: job_list.rows.index_of(key) is not None)
        finally:
            relay.stop()
    finally:
        service.stop()


async def test_a_source_that_cannot_be_reached_says_so_without_hints() -> None:
    app = make_app(variant="unreachable")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        said = "local cannot be reached: unreachable (ConnectError) at http://127.0.0.1:9/api/v1"
        (line,) = [line for line in text.splitlines() if "cannot be reached" in line]
        assert said in line and line.count("127.0.0.1:9") == 1
        for hint in ("No jobs yet", "Send one", "Watch a demo"):
            assert hint not in text


def test_a_source_that_answers_and_refuses_is_not_said_unreachable() -> None:
    # A service that asks for a key is reached; "cannot be reached" sent a newcomer looking
    # for a network problem.
    sources = [_info("local", "http://127.0.0.1:8799/api/v1")]
    refused = "missing bearer token; this service takes an IAM API key"
    health = {"local": SourceHealth(source="local", last_error=refused, failures=1)}
    (line,) = empty_text(sources, health, readonly=False)
    assert line == f"local cannot be read at http://127.0.0.1:8799: {refused}"
    silent = {"local": replace(health["local"], no_answer=True, last_error="did not answer")}
    (line,) = empty_text(sources, silent, readonly=False)
    assert line.startswith("local cannot be reached at http://127.0.0.1:8799")


def _info(name: str, url: str, *, local: bool = True) -> SourceInfo:
    return SourceInfo(name=name, url=url, local=local, can_rename=local)


def _down(name: str) -> SourceHealth:
    return SourceHealth(
        source=name, last_error="unreachable (ConnectError)", failures=2, no_answer=True
    )


def _up(name: str) -> SourceHealth:
    return SourceHealth(source=name, last_success=datetime(2026, 12, 1, tzinfo=UTC))


def test_of_several_sources_the_first_one_that_answers_is_named() -> None:
    sources = [
        _info("ibm", "https://quantum.cloud.ibm.com/api/v1", local=False),
        _info("lab", "http://127.0.0.1:9/api/v1"),
        _info("local", "http://127.0.0.1:8765/api/v1"),
    ]
    health = {"ibm": _up("ibm"), "lab": _down("lab"), "local": _up("local")}
    lines = empty_text(sources, health, readonly=False, cwd=CHECKOUT)
    assert lines == (
        "No jobs yet.",
        "Send one: qjob-tui submit --source http://127.0.0.1:8765 examples/bell.qasm",
        "Watch a demo: qjob-tui demo",
    )


def test_a_read_only_dashboard_suggests_no_submit() -> None:
    sources = [_info("local", "http://127.0.0.1:8765/api/v1")]
    lines = empty_text(sources, {"local": _up("local")}, readonly=True)
    assert lines == ("No jobs yet.", "Watch a demo: qjob-tui demo")


def test_the_address_keeps_no_secret_part_of_a_url() -> None:
    url = "https://me:pa55@lab.example.org:8443/q/api/v1?token=abc#frag"
    assert address(url) == "https://lab.example.org:8443/q"


def test_outside_the_checkout_the_circuit_is_named_in_full(tmp_path: Path) -> None:
    sources = [_info("local", "http://127.0.0.1:8765/api/v1")]
    (_, send, _) = empty_text(sources, {"local": _up("local")}, readonly=False, cwd=tmp_path)
    assert send.endswith(f" {shlex.quote(str(SAMPLE_CIRCUIT))}")
    assert Path(shlex.split(send)[-1]).is_file()


def test_before_any_answer_there_is_no_hint() -> None:
    sources = [_info("local", "http://127.0.0.1:8765/api/v1")]
    assert empty_text(sources, {}, readonly=False) == ("Asking local at http://127.0.0.1:8765…",)
    fresh = {"local": SourceHealth(source="local")}
    assert empty_text(sources, fresh, readonly=False) == ("Asking local at http://127.0.0.1:8765…",)


def test_a_relays_source_gets_no_command_that_its_relay_refuses() -> None:
    relayed = SourceInfo(
        name="lab",
        url="http://127.0.0.1:8800/sources/lab/api/v1",
        local=True,
        can_rename=True,
        relayed=True,
    )
    lines = empty_text([relayed], {"lab": _up("lab")}, readonly=False, cwd=CHECKOUT)
    assert lines == (
        "No jobs yet.",
        "Jobs sent to the service this relay watches as lab show here "
        "(the relay takes none itself).",
        "Watch a demo: qjob-tui demo",
    )
    assert empty_text([relayed], {"lab": _up("lab")}, readonly=True) == lines[::2]


def test_a_source_named_by_its_url_is_asked_once() -> None:
    sources = [_info("http://127.0.0.1:9999", "http://127.0.0.1:9999/api/v1")]
    assert empty_text(sources, {}, readonly=False) == ("Asking http://127.0.0.1:9999…",)


async def test_the_title_names_a_source_given_by_its_url_once(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9"  # nothing listens: the title is all this test reads
    source = Source.local(url, name=url)
    store = JobStore([JobClient(source)], StoreConfig(cache_dir=tmp_path, use_stream=False))
    app = QJobApp(store)
    async with app.run_test(size=(120, 40)):
        title = str(app.query_one(JobList).border_title)
    assert title == f"jobs · {url}/api/v1"
