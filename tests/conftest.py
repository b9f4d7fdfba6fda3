"""Shared fixtures: a real local service on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service_process import ServiceProcess


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A service shared by the tests of one module; devices are made fast."""
    data: Path = tmp_path_factory.mktemp("service")
    proc = ServiceProcess(data, "--latency-scale", "0.2").start()
    yield proc
    proc.stop()
