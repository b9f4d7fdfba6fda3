"""The wheel users install: built as ``make dist`` builds it, it holds the package and only it.

Every file of the package folder that is not Python (the dashboard's ``.tcss``, and whatever data
files the package gains, such as copies of OpenQASM includes) is found by walking the folder, not
from a list, and must be in the wheel; tests, benches and scripts must not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qjob_tui"


def uv() -> str:
    found = ROOT / ".tools" / "uv" / "bin" / "uv"
    if found.is_file():
        return str(found)
    on_path = shutil.which("uv")
    if on_path is None:
        pytest.skip("uv is not installed (make install puts it in .tools/uv)")
    return on_path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [uv(), "build", "--wheel", "--out-dir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (path,) = out.glob("qjob_tui-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def package_files() -> set[str]:
    """Every file the package folder holds, as wheel paths, caches left out."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_holds_every_file_of_the_package(wheel: zipfile.ZipFile) -> None:
    inside = set(wheel.namelist())
    assert package_files() - inside == set()
    data = {name for name in package_files() if not name.endswith(".py")}
    assert "qjob_tui/ui/app.tcss" in data  # the dashboard's styles: without them it is unstyled


def test_the_wheel_holds_nothing_but_the_package(wheel: zipfile.ZipFile) -> None:
    outside = {
        name
        for name in wheel.namelist()
        if not name.startswith(("qjob_tui/", "qjob_tui-"))
        or name.startswith(("qjob_tui/tests", "qjob_tui/bench"))
    }
    assert outside == set()
    package = {name for name in wheel.namelist() if name.startswith("qjob_tui/")}
    assert package == package_files()


def test_the_wheel_declares_the_command_and_the_dependencies(wheel: zipfile.ZipFile) -> None:
    info = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(wheel.read(info).decode())
    requires = metadata.get_all("Requires-Dist") or []
    assert any(line.startswith("qiskit<") or line.startswith("qiskit>") for line in requires)
    assert any("qiskit-ibm-runtime" in line and "extra == 'service'" in line for line in requires)
    assert {"aer", "service", "ssh", "dask"} <= set(metadata.get_all("Provides-Extra") or [])
    points = next(name for name in wheel.namelist() if name.endswith("entry_points.txt"))
    assert "qjob-tui = qjob_tui.cli.entry:main" in wheel.read(points).decode()
