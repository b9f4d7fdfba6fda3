"""The layers of DESIGN.md's house hold: checked by import-linter and by reading the source.

A scan of every import statement (function-level ones included, which import-linter also
sees) breaks the suite if ``ui/`` imports ``api/`` or the service imports ``store/``, ``api/``
or ``ui/``; subprocesses check what importing the service and starting the dashboard load.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qjob_tui"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import statement in ``source``."""
    found: list[tuple[str, list[str]]] = []
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
    return found


def project_imports() -> dict[str, list[tuple[str, list[str]]]]:
    result = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        result[module] = imports_of(path.read_text(), module, path.name == "__init__.py")
    return result


def violations(
    graph: dict[str, list[tuple[str, list[str]]]], layer: str, forbidden: tuple[str, ...]
) -> list[str]:
    bad = []
    for module, imports in graph.items():
        if module != layer and not module.startswith(layer + "."):
            continue
        for target, _ in imports:
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                bad.append(f"{module} imports {target}")
    return bad


def test_ui_imports_nothing_of_api() -> None:
    assert violations(project_imports(), "qjob_tui.ui", ("qjob_tui.api",)) == []


def test_service_imports_no_store_api_or_ui() -> None:
    forbidden = ("qjob_tui.store", "qjob_tui.api", "qjob_tui.ui", "qjob_tui.cli")
    assert violations(project_imports(), "qjob_tui.service", forbidden) == []


def test_the_edge_knows_no_other_part() -> None:
    parts = {path.stem for path in PACKAGE.iterdir() if path.stem not in ("edge", "__init__")}
    forbidden = tuple(f"qjob_tui.{part}" for part in parts if not part.startswith("_"))
    assert violations(project_imports(), "qjob_tui.edge", forbidden) == []


def test_the_scan_sees_a_planted_violation() -> None:
    """The checks above can fail: a lazy import inside a function is found too."""
    planted = textwrap.dedent(
        """
        def later():
            from qjob_tui.api.client import JobClient
            from ..store import JobStore
        """
    )
    graph = {"qjob_tui.ui.planted": imports_of(planted, "qjob_tui.ui.planted")}
    graph["qjob_tui.service.planted"] = imports_of(planted, "qjob_tui.service.planted")
    assert violations(graph, "qjob_tui.ui", ("qjob_tui.api",)) == [
        "qjob_tui.ui.planted imports qjob_tui.api.client"
    ]
    assert violations(graph, "qjob_tui.service", ("qjob_tui.store", "qjob_tui.api")) == [
        "qjob_tui.service.planted imports qjob_tui.api.client",
        "qjob_tui.service.planted imports qjob_tui.store",
    ]


def test_no_private_names_cross_modules() -> None:
    crossing = [
        f"{module} takes {name} from {target}"
        for module, imports in project_imports().items()
        for target, names in imports
        if target.startswith("qjob_tui")
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert crossing == []


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    if not linter.exists():
        pytest.skip("import-linter is not installed")
    done = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "BROKEN" not in done.stdout


def loaded_after(code: str, tmp_path: Path) -> set[str]:
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
    }
    script = tmp_path / "probe.py"  # a file: Textual reads the app class's source path
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split())


def test_importing_the_service_loads_no_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import qjob_tui.service.app, qjob_tui.service.server, qjob_tui.service.scheduler\n"
        "import qjob_tui.service.worker, qjob_tui.service.programs.sampler\n"
        "import qjob_tui.service.programs.extractor\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    modules = loaded_after(code, tmp_path)
    assert "qjob_tui.service.app" in modules
    assert not any(name == "textual" or name.startswith("textual.") for name in modules)
    assert not any(
        name.startswith(("qjob_tui.ui", "qjob_tui.store", "qjob_tui.api")) for name in modules
    )


FIRST_PAINT = """
import asyncio, sys
from qjob_tui.api import JobClient, Source
from qjob_tui.store import JobStore, StoreConfig
from qjob_tui.ui.app import QJobApp
from qjob_tui.ui.jobs.job_list import JobList

async def main() -> None:
    store = JobStore([JobClient(Source.local("http://127.0.0.1:9"))], StoreConfig(use_cache=False))
    app = QJobApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()  # the first frame is drawn and the first poll has run
        assert app.query_one(JobList).region.width > 0
        print(" ".join(sorted(sys.modules)))

asyncio.run(main())
"""


def test_the_dashboard_paints_before_loading_qiskit_or_numpy(tmp_path: Path) -> None:
    modules = loaded_after(FIRST_PAINT, tmp_path)
    assert "qjob_tui.ui.app" in modules and "textual" in modules
    assert "numpy" not in modules
    assert not any(name == "qiskit" or name.startswith("qiskit.") for name in modules)


PLAIN_SOURCES = """
import sys
from qjob_tui.cli.sources import resolve_source
for url in ("http://127.0.0.1:8765", "https://quantum.cloud.ibm.com/api", "http://localhost:1/"):
    resolve_source(url, {})
print(" ".join(sorted(sys.modules)))
"""


def test_checking_a_plain_source_address_loads_no_httpx(tmp_path: Path) -> None:
    """The dashboard checks its sources before its first frame, which needs no httpx: its
    import would be a fifth of the start (httpx comes with the first poll)."""
    modules = loaded_after(PLAIN_SOURCES, tmp_path)
    assert "qjob_tui.api.address" in modules
    assert "httpx" not in modules
