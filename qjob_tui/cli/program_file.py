"""The file ``qjob-tui submit`` sends, checked first with the service's own OpenQASM reader
(``wire.circuits``): a README or a QPY file is a usage error said at once, not a job that fails
on the server with reason code 1501."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from qjob_tui.text import one_line

EXPECTED = (
    "expected an OpenQASM 2 or 3 program, a text file that starts 'OPENQASM 2.0;' or "
    "'OPENQASM 3.0;'"
)


# Larger programs are not parsed here, only their header checked: the service reads them, or
# refuses them by size. A parse here costs the user's wait before the job is even sent, and the
# OpenQASM 3 parser's time grows quickly with a program's size.
PARSE_LIMIT = 64 * 1024
# The service's default body limit: a larger program could not be sent anyway.
MOST_PROGRAM_BYTES = 32 * 1024 * 1024


class ProgramFileError(ValueError):
    """The file cannot be sent as a circuit; the message says why and what was expected."""


def read_program(path: Path) -> str:
    """The OpenQASM text of ``path``, parsed once here as the service will parse it."""
    from qjob_tui.wire.circuits import QPY_MAGIC, load_qasm, qasm_version
    from qjob_tui.wire.errors import ParamsDecodeError

    shown = one_line(str(path), 200)
    try:
        # Opened without waiting (a FIFO would block the open for ever), then checked: only a
        # regular file of at most the service's body limit is read, and only that much.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ProgramFileError(f"{shown} is not a regular file: {EXPECTED}")
            if info.st_size > MOST_PROGRAM_BYTES:
                raise ProgramFileError(
                    f"{shown} has {info.st_size:,} bytes, more than a job may send "
                    f"({MOST_PROGRAM_BYTES // 2**20} MiB): {EXPECTED}"
                )
            raw = file.read(MOST_PROGRAM_BYTES + 1)
    except OSError as exc:
        raise ProgramFileError(f"cannot read {shown}: {exc.strerror or exc}") from None
    if raw.startswith(QPY_MAGIC):
        raise ProgramFileError(
            f"{shown} is a QPY file, and submit sends OpenQASM text: {EXPECTED}; write the "
            "circuit with qiskit.qasm3.dump"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProgramFileError(f"{shown} is not UTF-8 text: {EXPECTED}") from None
    if not text.strip():
        raise ProgramFileError(f"{shown} is empty: {EXPECTED}")
    version = qasm_version(text)
    if version not in (None, "2", "3"):
        raise ProgramFileError(f"{shown} declares OpenQASM version {version}: {EXPECTED}")
    if len(raw) > PARSE_LIMIT:
        if version is None:
            raise ProgramFileError(
                f"{shown} is not an OpenQASM 2 or 3 program: it has no 'OPENQASM' header; "
                f"{EXPECTED}"
            )
        return text
    try:
        load_qasm(text, "")
    except ParamsDecodeError as exc:
        if version is None:  # not a program: nothing of it is quoted (it may hold secrets)
            raise ProgramFileError(
                f"{shown} is not an OpenQASM 2 or 3 program: it has no 'OPENQASM' header and "
                f"does not read as one without it; {EXPECTED}"
            ) from None
        raise ProgramFileError(f"{shown}: {exc.message}. {exc.solution}") from None
    return text
