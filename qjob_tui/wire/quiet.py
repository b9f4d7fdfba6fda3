"""The native OpenQASM 3 parser, run where its printout cannot reach a terminal.

qiskit's ``qasm3.loads_experimental`` is Rust; on a bad program it prints its diagnostics from
Rust straight to file descriptor 1 and raises only "see printed errors". A Python-level
redirect cannot catch that, and redirecting descriptors 1 and 2 would swap them under
Textual, which draws on them from another thread. So the parse runs in a short-lived child
Python: the child points its own descriptor 1 at its stderr pipe, parses, and sends the circuit
back as QPY on its original stdout. The parent's descriptors are never touched, a Rust panic
or a parser that never ends costs only the child, and its diagnostics come back as text.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass

from qjob_tui.wire.child_env import parser_environment
from qjob_tui.wire.limits import MAX_PARSER_OUTPUT, QASM3_PARSE_SECONDS

# Runs in the child; it needs qiskit only. Diagnostics go to stderr, the QPY to the saved stdout.
_CHILD = """\
import io, os, sys, warnings
out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
sys.stdout = sys.stderr
warnings.simplefilter("ignore")
from qiskit import qasm3, qpy
try:
    circuit = qasm3.loads_experimental(sys.stdin.read(), include_path=[])
except Exception as exc:
    print(f"Exception: {exc}", file=sys.stderr)
    sys.exit(3)
buffer = io.BytesIO()
qpy.dump(circuit, buffer)
out.write(buffer.getvalue())
out.flush()
"""


@dataclass(frozen=True)
class Qasm3Outcome:
    """The child's answer: QPY bytes of the circuit, or what the parser printed and raised."""

    qpy: bytes | None
    printed: str


def parse_qasm3_isolated(text: str) -> Qasm3Outcome:
    """Parse OpenQASM 3 text in a child process; never writes to this process's terminal.

    The child runs in an empty folder of its own with no secret in its environment: the parser
    resolves relative includes from its working directory, and the program is untrusted.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="qjob-qasm3-") as empty:
            done = subprocess.run(
                [sys.executable, "-I", "-c", _CHILD],
                input=text.encode("utf-8", "replace"),
                capture_output=True,
                timeout=QASM3_PARSE_SECONDS,
                check=False,
                cwd=empty,
                env=parser_environment(),
            )
    except subprocess.TimeoutExpired:
        return Qasm3Outcome(None, f"Exception: the parser took over {QASM3_PARSE_SECONDS:g} s")
    except OSError as exc:
        return Qasm3Outcome(None, f"Exception: the parser could not start ({exc.strerror})")
    printed = done.stderr[:MAX_PARSER_OUTPUT].decode("utf-8", "replace")
    if done.returncode == 0 and done.stdout:
        return Qasm3Outcome(done.stdout, printed)
    if done.returncode not in (0, 3) and "Exception:" not in printed:
        printed += f"\nException: the parser stopped with exit status {done.returncode}"
    return Qasm3Outcome(None, printed)
