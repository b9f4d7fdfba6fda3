"""Run every benchmark and write their tables into the README (``make bench``).

Each ``bench/*_bench.py`` or ``bench/bench_*.py`` script prints markdown on stdout; this runner
runs them one after another (never in parallel: they would disturb each other's timings) and
replaces the README section between the bench markers.
"""

from __future__ import annotations

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


def scripts(selected: list[str]) -> list[Path]:
    found = sorted({*ROOT.glob("bench/*_bench.py"), *ROOT.glob("bench/bench_*.py")})
    if selected:
        found = [p for p in found if any(s in p.name for s in selected)]
    return found


def main() -> int:
    sections = []
    failed = []
    for script in scripts(sys.argv[1:]):
        print(f"== {script.name}", file=sys.stderr, flush=True)
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
        sections.append(f"{done.stdout.strip()}\n\n_`bench/{script.name}`, {took:.0f} s._")
    if failed:
        print(f"failed: {', '.join(failed)}; README not updated", file=sys.stderr)
        return 1
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    machine = f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
    body = f"_Measured {stamp} on {machine}._\n\n" + "\n\n".join(sections)
    text = README.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if sys.argv[1:]:
        print("a subset was run; README not updated", file=sys.stderr)
        return 0
    README.write_text(pattern.sub(f"{START}\n{body}\n{END}", text))
    return 0


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
