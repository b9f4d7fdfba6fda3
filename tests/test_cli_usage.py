"""``qjob-tui usage``, run as a user runs it, against the real local service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from qjob_tui.cli.usage import format_usage
from qjob_tui.model import InstanceUsage
from tests.service_process import ServiceProcess, free_port
from tests.test_cli_jobs import qjob


def test_usage_without_a_limit(service: ServiceProcess, tmp_path: Path) -> None:
    done = qjob("usage", "--source", service.root, home=tmp_path)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split() == ["SOURCE", "USED", "LIMIT", "LEFT"]
    assert row.startswith(service.root) and row.split()[-2:] == ["-", "-"]
    as_json = qjob("usage", "--json", "--source", service.root, home=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    (entry,) = json.loads(as_json.stdout)
    assert entry["source"] == service.root and entry["usage_limit_seconds"] is None
    assert entry["usage_remaining_seconds"] is None and entry["low"] is False


def test_an_unreachable_source_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = qjob("usage", "--source", url, home=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    bad = qjob("usage", "--source", "no-such-account", home=tmp_path)
    assert bad.returncode == 2 and "unknown source" in bad.stderr


def test_the_table_warns_under_ten_percent() -> None:
    text = format_usage(
        [
            ("ibm", InstanceUsage(570, 600)),
            ("open", InstanceUsage(60, 600)),
            ("full", InstanceUsage(600, 600, limit_reached=True)),
        ]
    )
    lines = text.splitlines()
    assert "30 s (5 %)" in lines[1] and "⚠ under 10 % left" in lines[1]
    assert "9 min (90 %)" in lines[2] and "⚠" not in lines[2]
    assert "limit reached" in lines[3]


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("cli-usage-limit")
    proc = ServiceProcess(data, "--latency-scale", "0", "--usage-limit", "7200").start()
    yield proc
    proc.stop()


def test_usage_with_the_local_limit(limited: ServiceProcess, tmp_path: Path) -> None:
    done = qjob("usage", "--json", "--source", limited.root, home=tmp_path)
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)
    assert entry["usage_limit_seconds"] == 7200
    assert entry["usage_remaining_seconds"] == 7200 - entry["usage_consumed_seconds"]
    table = qjob("usage", "--source", limited.root, home=tmp_path)
    assert "2 h" in table.stdout.splitlines()[1]
