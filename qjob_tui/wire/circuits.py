"""Circuits on the wire: RuntimeEncoder's QPY form, or OpenQASM 2 or 3 text.

qiskit is imported inside the functions, so that reading a result never needs it. Every
problem is a ``ParamsDecodeError`` of part ``CIRCUIT`` whose message starts with ``where``.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from qjob_tui.text import one_line
from qjob_tui.wire.envelope import (
    MetadataEncoder,
    deflate_b64,
    inflate_b64,
    json_kind,
    prefixed,
    typed,
)
from qjob_tui.wire.errors import ParamsDecodeError, Part
from qjob_tui.wire.limits import MOST_DECLARED_BITS, SERVICE_MAX_SUPPORTED_QPY_VERSION
from qjob_tui.wire.qasm_screen import BUILT_IN_INCLUDES, QasmRefused, screen_qasm
from qjob_tui.wire.quiet import parse_qasm3_isolated

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

QPY_MAGIC = b"QISKIT"
_QASM_HEADER = re.compile(r"\s*OPENQASM\s+(\d+)")
_QASM2_LOCATION = re.compile(r"<input>:(\d+),(\d+):\s*(.*)", re.DOTALL)
_QASM3_ERROR = re.compile(r"Error:\s*(.+)")
_QASM3_EXCEPTION = re.compile(r"Exception:\s*(.+)")
# The Rust parser names the program itself "no file"; a diagnostic about any other file is
# never quoted (includes other than the built-in ones are refused before parsing anyway).
_QASM3_LOCATION = re.compile(r"\[([^\]\n]*?):(\d+):(\d+)\]")
_QASM3_OWN_TEXT = "no file"
_QASM3_SNIPPET = re.compile(r"^\s*\d+\s*│(.*)$", re.MULTILINE)
_QPY_HINT = "Encode the circuit with qiskit.qpy.dump, as qiskit-ibm-runtime's SamplerV2 does."


def _circuit_error(where: str, message: str, solution: str) -> ParamsDecodeError:
    return ParamsDecodeError(prefixed(where, message), solution, Part.CIRCUIT)


def _is_fatal(exc: BaseException) -> bool:
    """Exceptions that must never become a decode error (Rust panics are not among them)."""
    return isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit)


# --- QPY -------------------------------------------------------------------------------------


def encode_circuit(circuit: QuantumCircuit) -> dict[str, Any]:
    """A circuit as RuntimeEncoder writes it: QPY at the newest version IBM reads."""
    from qiskit import qpy

    version = min(SERVICE_MAX_SUPPORTED_QPY_VERSION, qpy.QPY_VERSION)
    with io.BytesIO() as buffer:
        qpy.dump(circuit, buffer, MetadataEncoder, version=version)
        return typed("QuantumCircuit", deflate_b64(buffer.getvalue()))


def load_qpy(raw: bytes, where: str) -> QuantumCircuit:
    """The first circuit of a QPY payload, with a clear word for each way it can be wrong."""
    from qiskit import qpy
    from qiskit.circuit import QuantumCircuit

    if not raw.startswith(QPY_MAGIC) or len(raw) < len(QPY_MAGIC) + 1:
        raise _circuit_error(where, "the encoded circuit is not QPY data", _QPY_HINT)
    version = raw[len(QPY_MAGIC)]
    if version > qpy.QPY_VERSION:
        raise _circuit_error(
            where,
            f"the circuit is QPY version {version}, newer than the {qpy.QPY_VERSION} this "
            "Qiskit reads",
            f"Encode with qiskit.qpy.dump(..., version={qpy.QPY_VERSION}), or upgrade Qiskit.",
        )
    declared = _declared_bits(raw)
    if declared is not None and declared > MOST_DECLARED_BITS:
        raise _circuit_error(
            where,
            f"the QPY circuit declares {declared:,} qubits and bits, more than the "
            f"{MOST_DECLARED_BITS:,} any device or simulator here runs",
            "Send the circuit transpiled to the backend's qubits.",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            programs = qpy.load(io.BytesIO(raw))
    except BaseException as exc:  # QPY parsing is partly native and may panic
        if _is_fatal(exc):
            raise
        raise _circuit_error(
            where, f"the QPY circuit could not be loaded: {one_line(exc, 300)}", _QPY_HINT
        ) from None
    if not programs or not isinstance(programs[0], QuantumCircuit):
        raise _circuit_error(where, "the QPY payload holds no QuantumCircuit", _QPY_HINT)
    return programs[0]


def _declared_bits(raw: bytes) -> int | None:
    """The qubits and bits the first circuit's header declares, read before anything is built
    (a 90-byte payload whose header says 10,000,000 made the loader take gigabytes); None
    where the header cannot be read so (QPY before version 5): the loader judges those."""
    from qiskit.qpy import formats

    version = raw[len(QPY_MAGIC)]
    if version < 5:
        return None
    try:
        header = formats.FILE_HEADER_SIZE if version < 10 else formats.FILE_HEADER_V10_SIZE
        pos = header + 1  # the program's type key follows the file's header
        if version >= 16:  # a table of the programs' offsets
            (pos,) = struct.unpack_from(formats.CIRCUIT_TABLE_ENTRY_PACK, raw, pos)
        # Every header since version 2 starts name size, phase type, phase size, qubits, clbits.
        fields = struct.unpack_from(formats.CIRCUIT_HEADER_V2_PACK, raw, pos)
    except struct.error:
        return None  # too short: the loader says what is wrong
    return int(fields[3]) + int(fields[4])


# --- OpenQASM --------------------------------------------------------------------------------


def qasm_version(text: str) -> str | None:
    """The version an OpenQASM text's header declares (``"2"``, ``"3"``), None without one."""
    header = _QASM_HEADER.match(text)
    return header.group(1) if header else None


def screened(text: str, version: str, where: str) -> str:
    """The text a parser of this OpenQASM version may see (``wire.qasm_screen``), or refused."""
    try:
        return screen_qasm(text, BUILT_IN_INCLUDES[version])
    except QasmRefused as exc:
        raise _circuit_error(
            where,
            f"the OpenQASM {version} program is refused: {exc}",
            "Paste the definitions you need into the program instead of including a file; "
            "keep strings to letters, digits and plain punctuation.",
        ) from None


def _unquote(text: str) -> str:
    """Text without one pair of quotes around all of it: "'hh' is not defined" keeps its own."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_qasm2(text: str) -> QuantumCircuit | str:
    """The circuit, or the parser's complaint as ``line L, col C: message``."""
    from qiskit import qasm2

    try:
        return qasm2.loads(
            text, include_path=(), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS
        )
    except BaseException as exc:
        if _is_fatal(exc):
            raise
        detail = _unquote(one_line(exc, 300))
        found = _QASM2_LOCATION.search(detail)
        if found:
            line, col, message = found.groups()
            return f"line {line}, col {int(col) + 1}: {message.strip()}"
        return detail


def parse_qasm3(text: str) -> QuantumCircuit | str:
    """The circuit, or the parser's complaint as ``line L, col C: message``.

    The native parser runs in a child process (``wire.quiet``); what it printed is read back.
    """
    outcome = parse_qasm3_isolated(text)
    if outcome.qpy is not None:
        return load_qpy(outcome.qpy, "")
    printed = outcome.printed
    error = _QASM3_ERROR.search(printed)
    if error is None:
        raised = _QASM3_EXCEPTION.search(printed)
        return _unquote(one_line(raised.group(1) if raised else printed, 300))
    detail = one_line(error.group(1), 160)
    location = _QASM3_LOCATION.search(printed)
    if location is None or location.group(1) != _QASM3_OWN_TEXT:
        return detail
    snippet = _QASM3_SNIPPET.search(printed)
    if snippet and snippet.group(1).strip():
        detail += f" near {one_line(snippet.group(1).strip(), 60)!r}"
    return f"line {location.group(2)}, col {location.group(3)}: {detail}"


def _headerless(
    text: str, version: str, parse: Callable[[str], QuantumCircuit | str]
) -> QuantumCircuit | str:
    """A text without header, tried as one version: the circuit, or why not."""
    try:
        return parse(screen_qasm(text, BUILT_IN_INCLUDES[version]))
    except QasmRefused as exc:
        return f"refused: {exc}"


def load_qasm(text: str, where: str) -> QuantumCircuit:
    """Parse OpenQASM 2 or 3 text, chosen by its header, or tried in that order without one."""
    from qiskit.circuit import QuantumCircuit

    version = qasm_version(text)
    if version == "2":
        parsed, label = parse_qasm2(screened(text, "2", where)), "OpenQASM 2"
    elif version == "3":
        parsed, label = parse_qasm3(screened(text, "3", where)), "OpenQASM 3"
    elif version is not None:
        raise _circuit_error(
            where,
            f"OpenQASM version {version} is not supported",
            "Send OpenQASM 2 or 3 text, or a QPY-encoded circuit.",
        )
    else:
        as_qasm2 = _headerless(text, "2", parse_qasm2)
        if isinstance(as_qasm2, QuantumCircuit):
            return as_qasm2
        as_qasm3 = _headerless(text, "3", parse_qasm3)
        if isinstance(as_qasm3, QuantumCircuit):
            return as_qasm3
        raise _circuit_error(
            where,
            f"the circuit text is neither OpenQASM 2 ({as_qasm2}) nor OpenQASM 3 ({as_qasm3})",
            "Start the program with 'OPENQASM 2.0;' or 'OPENQASM 3.0;' and fix the reported line.",
        )
    if isinstance(parsed, QuantumCircuit):
        return parsed
    if parsed.startswith("line "):
        raise _circuit_error(
            where,
            f"{label} parse error at {parsed}",
            "Fix the program at the reported line and column.",
        )
    raise _circuit_error(
        where,
        f"the {label} program could not be imported: {parsed}",
        "Rewrite the program without the construct named, or send a QPY-encoded circuit.",
    )


# --- either ----------------------------------------------------------------------------------


def decode_circuit(obj: object, where: str) -> QuantumCircuit:
    """A pub's circuit from RuntimeEncoder's QPY form or from OpenQASM text."""
    if isinstance(obj, str):
        return load_qasm(obj, where)
    if isinstance(obj, dict) and obj.get("__type__") == "QuantumCircuit":
        raw = inflate_b64(obj.get("__value__"), "encoded circuit", where, Part.CIRCUIT)
        return load_qpy(raw, where)
    if isinstance(obj, dict):
        found = f"an object of __type__ {one_line(repr(obj.get('__type__')), 40)}"
    else:
        found = json_kind(obj)
    raise _circuit_error(
        where,
        f"the circuit must be an encoded QuantumCircuit or OpenQASM text, not {found}",
        'Send {"__type__": "QuantumCircuit", "__value__": <base64 zlib QPY>} as SamplerV2 does, '
        "or the OpenQASM program as a string.",
    )


def decode_circuits(params: Mapping[str, Any]) -> list[QuantumCircuit]:
    """The circuits of a primitive job's params (``GET /jobs/{id}`` without exclude_params).

    Each pub's circuit is RuntimeEncoder's QPY form or OpenQASM text; anything else is a
    ``ParamsDecodeError`` with a one-line message.
    """
    if not isinstance(params, Mapping):
        raise ParamsDecodeError(f"params must be an object, not {json_kind(params)}")
    pubs = params.get("pubs")
    if not isinstance(pubs, list):
        raise ParamsDecodeError("params hold no list of pubs")
    return [
        decode_circuit(pub[0] if isinstance(pub, list) and pub else pub, f"pub {index}")
        for index, pub in enumerate(pubs)
    ]
