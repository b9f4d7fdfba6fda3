"""Start-up counted in instructions: spawn to the first job row, as ``startup_bench.py`` sets it up.

Run as ``python bench/startup_instructions.py`` (needs valgrind; about two minutes). The wall
clock of ``startup_bench.py`` moves with the machine's load; instructions do not. Each program
runs once under callgrind in the same 120x40 pty and ends the moment its first row is handed to
the terminal (``exit_at_row.py``). Its main thread's instructions are split where Textual takes
the terminal (its first ``tcsetattr``): before it, imports and set-up; after it, the first frame.
Other threads (the dashboard's early look at the server and its cache) are counted apart.
Not part of ``make bench`` (its name does not end in ``_bench``).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from minimal_list_app import LAST_ROW  # noqa: E402
from pty_dashboard import CACHED, REFRESH, PtyDashboard, dashboard_env, fill_cache  # noqa: E402
from startup_bench import modes  # noqa: E402

from tests.service_process import ServiceProcess, fill_finished  # noqa: E402

EXIT_AT = str(ROOT / "bench" / "exit_at_row.py")
_SUMMARY = re.compile(r"^summary: (\d+)$", re.MULTILINE)
_DUMP = re.compile(r"(?:\.(\d+))?-(\d+)")


def counted(args: list[str], env: dict[str, str], out: Path) -> dict[str, float]:
    """Millions of instructions: main thread before and after Textual takes the terminal,
    and every other thread."""
    callgrind = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        "--dump-instr=no",
        "--separate-threads=yes",
        "--dump-before=tcsetattr",
    ]
    with PtyDashboard([*callgrind, *args], env) as program:
        assert program.proc is not None
        program.proc.wait(timeout=600)
    parts = {"set-up": 0.0, "first frame": 0.0, "other threads": 0.0}
    for dump in out.parent.glob(out.name + "*"):
        # out-TT: the last part of thread TT; out.N-TT: its part N (part 1: before the first
        # tcsetattr). Thread 01 is the main thread.
        name = _DUMP.fullmatch(dump.name[len(out.name) :])
        found = _SUMMARY.search(dump.read_text(errors="replace"))
        if name is None or found is None:
            continue
        part, thread = name.groups()
        main_part = "set-up" if part == "1" else "first frame"
        key = main_part if thread == "01" else "other threads"
        parts[key] += int(found.group(1)) / 1e6
    return parts


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        service = ServiceProcess(home / "service")
        fill_finished(service.data, CACHED)
        service.start()
        try:
            newest = fill_cache(service.root, home / "cache")
            env = modes(dashboard_env(home), home)["bytecode cached"]
            floor = [sys.executable, EXIT_AT, LAST_ROW, str(ROOT / "bench" / "minimal_list_app.py")]
            dashboard = [
                *[sys.executable, EXIT_AT, newest, "-m", "qjob_tui"],
                *["--source", service.root, "--refresh", f"{REFRESH:g}"],
            ]
            for args in (floor, dashboard):  # the bytecode of every module, cached
                with PtyDashboard(args, env) as program:
                    assert program.proc is not None
                    program.proc.wait(timeout=60)
            a = counted(floor, env, home / "floor.out")
            b = counted(dashboard, env, home / "dashboard.out")
        finally:
            service.stop()
    print(f"### Start-up in instructions, {CACHED:,} cached jobs (millions, callgrind)\n")
    print("| Part | (a) minimal Textual app | (b) `qjob-tui --source URL` | b/a |")
    print("|---|---:|---:|---:|")
    a["main thread, spawn to first row"] = a["set-up"] + a["first frame"]
    b["main thread, spawn to first row"] = b["set-up"] + b["first frame"]
    for part in ("set-up", "first frame", "main thread, spawn to first row"):
        label = part if part.startswith("main") else f"main thread: {part}"
        print(f"| {label} | {a[part]:,.0f} | {b[part]:,.0f} | {b[part] / a[part]:.2f} |")
    print(f"| other threads | {a['other threads']:,.0f} | {b['other threads']:,.0f} | |")


if __name__ == "__main__":
    sys.exit(main())
