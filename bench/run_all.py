"""Run the benchmarks and write their tables into the README (``make bench``).

Each ``bench/*_bench.py`` or ``bench/bench_*.py`` script prints markdown on stdout; this runner
runs them one after another (never in parallel: they would disturb each other's timings) and
writes each script's output into its own README section, between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->`` inside the benchmarks block. ``python bench/run_all.py service startup``
runs only the scripts whose names contain those words and rewrites only their sections, so one
table can be refreshed without the half hour the Dask and SSH benches take. Each section says
when it was measured and how loaded the machine was, since the tables may come from different runs.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def every_script() -> list[Path]:
    return sorted({*ROOT.glob("bench/*_bench.py"), *ROOT.glob("bench/bench_*.py")})


def scripts(selected: list[str]) -> list[Path]:
    """The scripts whose names contain any of the words (any case); all of them for none."""
    found = every_script()
    if selected:
        words = [word.lower() for word in selected]
        found = [p for p in found if any(word in p.stem.lower() for word in words)]
    return found


def unmatched(selected: list[str]) -> list[str]:
    """The words that name no script: a typo would otherwise pass unseen beside a good word."""
    stems = [p.stem.lower() for p in every_script()]
    return [word for word in selected if not any(word.lower() in stem for stem in stems)]


def section(name: str, body: str) -> str:
    return f"<!-- bench:{name} -->\n{body}\n<!-- /bench:{name} -->"


def place(text: str, name: str, body: str) -> str:
    """``text`` with the section of ``name`` replaced by ``body`` (appended if it is new)."""
    pattern = re.compile(
        re.escape(f"<!-- bench:{name} -->") + ".*?" + re.escape(f"<!-- /bench:{name} -->"),
        re.DOTALL,
    )
    if pattern.search(text):
        return pattern.sub(lambda _: section(name, body), text, count=1)
    return text.replace(END, f"{section(name, body)}\n\n{END}", 1)


def main() -> int:
    selected = sys.argv[1:]
    missed = unmatched(selected)
    if missed:
        names = ", ".join(p.stem for p in every_script())
        print(
            f"no benchmark matches {', '.join(repr(word) for word in missed)}; the benchmarks:"
            f' {names} (ONLY="service startup" runs those whose names hold either word)',
            file=sys.stderr,
        )
        return 2
    chosen = scripts(selected)
    if not selected:
        print(
            f'running all {len(chosen)} benchmarks, about 40 minutes (ONLY="service" runs'
            " only those whose names hold the word)",
            file=sys.stderr,
        )
    else:
        print(f"running {', '.join(p.stem for p in chosen)}", file=sys.stderr)
    text = README.read_text()
    if START not in text or END not in text:
        print(f"README.md has no {START} ... {END} block", file=sys.stderr)
        return 1
    failed = []
    machine = f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
    for script in chosen:
        print(f"== {script.name}", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT
        )
        took = time.perf_counter() - start
        if done.returncode != 0:
            failed.append(script.name)
            print(done.stderr[-3000:], file=sys.stderr)
            continue
        print(done.stdout, file=sys.stderr)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        footer = f"_`bench/{script.name}`, {took:.0f} s, {stamp}, {machine}, {load}._"
        body = f"{done.stdout.strip()}\n\n{footer}"
        # Written after each script, so that a later failure keeps the tables already measured.
        text = place(README.read_text(), script.stem, body)
        README.write_text(text)
    if failed:
        print(f"failed: {', '.join(failed)}; their README sections are unchanged", file=sys.stderr)
        return 1
    return 0


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
