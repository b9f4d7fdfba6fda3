"""The bench runner rewrites only the README sections of the benchmarks it ran, and its
mistakes say so before anything runs (a run of every benchmark takes 40 minutes)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parent.parent / "bench" / "run_all.py"


def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_all", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


README = """# x

<!-- bench:start -->
<!-- bench:a_bench -->
old a
<!-- /bench:a_bench -->

<!-- bench:b_bench -->
old b
<!-- /bench:b_bench -->

<!-- bench:end -->
after
"""


def test_a_section_is_replaced_and_the_others_kept() -> None:
    text = runner().place(README, "a_bench", "new a\n| 1 | 2 |")
    assert "new a\n| 1 | 2 |" in text
    assert "old a" not in text
    assert "old b" in text
    assert text.endswith("<!-- bench:end -->\nafter\n")


def test_a_new_benchmark_gets_its_section_before_the_end_marker() -> None:
    text = runner().place(README, "c_bench", "c table")
    assert text.index("<!-- bench:c_bench -->\nc table\n<!-- /bench:c_bench -->") < text.index(
        "<!-- bench:end -->"
    )
    assert "old a" in text and "old b" in text


def test_a_body_with_regex_escapes_is_written_literally() -> None:
    text = runner().place(README, "a_bench", r"p50 \1 ms \g<0>")
    assert r"p50 \1 ms \g<0>" in text


def test_every_benchmark_in_the_readme_has_a_script() -> None:
    readme = (RUNNER.parent.parent / "README.md").read_text()
    names = {p.stem for p in runner().scripts([])}
    listed = set(re.findall(r"<!-- bench:(\w+) -->", readme)) - {"start", "end"}
    assert listed <= names, listed - names


def test_a_word_that_names_no_benchmark_is_refused_with_the_names() -> None:
    done = subprocess.run(
        [sys.executable, str(RUNNER), "service", "dashbord"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no benchmark matches 'dashbord'" in done.stderr
    assert "service_bench" in done.stderr and "startup_bench" in done.stderr
    assert "==" not in done.stderr  # nothing ran


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_benchmarks_named_as_make_targets_are_refused() -> None:
    done = subprocess.run(
        ["make", "bench", "service"],
        capture_output=True,
        text=True,
        cwd=RUNNER.parent.parent,
        timeout=60,
    )
    assert done.returncode != 0
    assert 'ONLY="service"' in done.stderr
    assert "run_all.py" not in done.stdout  # refused before the runner started
