"""Random-extractor jobs in the job library: their params out, their results in.

The local service's ``random-extractor`` program (the retired CQC extractor service, brought
back) takes params such as ``{"method": "ext1", "ext1_input_num_bits": n, ...}`` and answers
with the extracted bits, the parameters it used and a quality report (see
``qjob_tui.service.programs.extractor`` for the full shape). ``extractor_params`` builds the
params; the service writes its result with ``encode_extractor_result``; the client reads it with
``decode_extractor_result`` into a ``results.ExtractorResult`` for the job library and the
dashboard alike. Result text comes from a server: everything is checked, and anything
malformed raises ``ExtractorResultError`` with a one-line message.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qjob_tui.model import ProgramId
from qjob_tui.results import ALPHA, CheckResult, ExtractorResult
from qjob_tui.text import one_line
from qjob_tui.wire.errors import ResultDecodeError

__all__ = [
    "METHODS",
    "ExtractorResultError",
    "decode_extractor_result",
    "encode_bytes",
    "encode_extractor_result",
    "extractor_params",
]

METHODS = ("ext1", "ext2", "both")
RESULT_VERSION = 1

HEX_MAX_BITS = 4096
"""Results of at most this many bits carry a ``hex`` copy for display."""

MAX_RESULT_BITS = 2**27
"""Largest result this client decodes (16 MiB packed); the service makes far fewer."""

_MAX_TEXT = 200
_MAX_CHECKS = 16
_INT_PARAMS = (
    "ext1_input_num_bits",
    "ext1_output_num_bits",
    "ext2_seed_num_bits",
    "ext2_wsr_multiplier",
    "ext2_output_num_bits",
    "raw_bits_available",
    "raw_bits_used",
    "wsr_seed",
)
_FLOAT_PARAMS = (
    "rate_bt",
    "rate_bt_used",
    "rate_sv",
    "epsilon_sec",
    "epsilon_ext1",
    "epsilon_ext2",
)
_INPUT_SOURCES = frozenset({"params", "generated", "raw_job", "ext1_output"})


class ExtractorResultError(ResultDecodeError):
    """An extractor job's result text cannot be read; the message is one line, safe to show."""


# --- params ----------------------------------------------------------------------------------


def encode_bytes(data: bytes | bytearray | memoryview) -> str:
    """Bytes as the params carry them: standard base64."""
    return base64.standard_b64encode(bytes(data)).decode("ascii")


def extractor_params(
    method: str,
    *,
    raw_job: str | None = None,
    ext1_input_num_bits: int | None = None,
    ext1_output_num_bits: int | None = None,
    ext1_raw_bytes: bytes | None = None,
    ext1_wsr_bytes: bytes | None = None,
    ext2_seed_num_bits: int | None = None,
    ext2_wsr_multiplier: int | None = None,
    ext2_seed_bytes: bytes | None = None,
    ext2_wsr_bytes: bytes | None = None,
    wsr_seed: int | None = None,
    rate_bt: float | None = None,
    rate_sv: float | None = None,
    epsilon_sec: float | None = None,
    quantum_proof: bool | None = None,
) -> dict[str, Any]:
    """The params of a ``random-extractor`` job; fields left None are left out.

    Names are those of the old ``CQCExtractor`` arguments. The service checks the values and
    fails the job with a reason if they break a rule; only the method is checked here.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    params: dict[str, Any] = {"method": method}
    numbers = {
        "raw_job": raw_job,
        "ext1_input_num_bits": ext1_input_num_bits,
        "ext1_output_num_bits": ext1_output_num_bits,
        "ext2_seed_num_bits": ext2_seed_num_bits,
        "ext2_wsr_multiplier": ext2_wsr_multiplier,
        "wsr_seed": wsr_seed,
        "rate_bt": rate_bt,
        "rate_sv": rate_sv,
        "epsilon_sec": epsilon_sec,
        "quantum_proof": quantum_proof,
    }
    params.update({key: value for key, value in numbers.items() if value is not None})
    blobs = {
        "ext1_raw_bytes": ext1_raw_bytes,
        "ext1_wsr_bytes": ext1_wsr_bytes,
        "ext2_seed_bytes": ext2_seed_bytes,
        "ext2_wsr_bytes": ext2_wsr_bytes,
    }
    params.update({key: encode_bytes(value) for key, value in blobs.items() if value is not None})
    return params


# --- results ---------------------------------------------------------------------------------


def _packed(bits: NDArray[np.uint8]) -> bytes:
    """0/1 bits packed LSB first in each byte, as the old service packed them."""
    return np.packbits(np.asarray(bits, dtype=np.uint8), bitorder="little").tobytes()


def _hex(bits: NDArray[np.uint8]) -> str:
    return _packed(bits).hex()


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity; a statistic that does not apply is null."""
    return value if math.isfinite(value) else None


def encode_extractor_result(
    method: str,
    bits: NDArray[np.uint8],
    parameters: Mapping[str, Any],
    quality: tuple[CheckResult, ...],
) -> str:
    """The result JSON text of an extractor job (shape in the service program's docstring)."""
    body: dict[str, Any] = {
        "program": str(ProgramId.RANDOM_EXTRACTOR),
        "version": RESULT_VERSION,
        "method": method,
        "num_bits": int(bits.size),
        "bits": base64.standard_b64encode(_packed(bits)).decode("ascii"),
    }
    if bits.size <= HEX_MAX_BITS:
        body["hex"] = _hex(bits)
    body["parameters"] = dict(parameters)
    body["quality"] = [
        {
            "name": check.name,
            "statistic": _finite(check.statistic),
            "p_value": check.p_value,
            "passed": check.passed,
            "note": check.note,
        }
        for check in quality
    ]
    body["alpha"] = ALPHA
    return json.dumps(body, allow_nan=False)


def _fail(message: str) -> ExtractorResultError:
    return ExtractorResultError(one_line(message, 200))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: object, where: str, *, limit: int = _MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise _fail(f"{where} is not a string")
    return one_line(value, limit)


def _decode_bits(body: Mapping[str, Any]) -> tuple[NDArray[np.uint8], int]:
    """The packed ``bits`` field as a read-only 0/1 array of ``num_bits``."""
    num_bits = body.get("num_bits")
    if not _is_int(num_bits) or not 0 <= num_bits <= MAX_RESULT_BITS:
        raise _fail(f"num_bits must be an integer in [0, {MAX_RESULT_BITS}]")
    packed = body.get("bits")
    if not isinstance(packed, str):
        raise _fail("the result has no base64 'bits'")
    need = -(-num_bits // 8)
    if len(packed) > 4 * (-(-need // 3)) + 4:
        raise _fail(f"'bits' is longer than {num_bits} bits need")
    try:
        raw = base64.b64decode(packed, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("'bits' is not valid base64") from None
    if len(raw) != need:
        raise _fail(f"'bits' holds {len(raw)} bytes, but {num_bits} bits need {need}")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), count=num_bits, bitorder="little")
    bits.flags.writeable = False
    return bits, num_bits


def _decode_params(value: object) -> Mapping[str, Any]:
    """The ``parameters`` object with the known fields type-checked and strings made safe."""
    if not isinstance(value, dict):
        raise _fail("'parameters' is not an object")
    params: dict[str, Any] = {}
    for key, item in value.items():
        name = one_line(key, 60)
        if key in _INT_PARAMS:
            if not _is_int(item) or item < 0:
                raise _fail(f"parameter {name} is not a non-negative integer")
            params[key] = item
        elif key in _FLOAT_PARAMS:
            if not _is_number(item):
                raise _fail(f"parameter {name} is not a number")
            params[key] = float(item)
        elif key == "quantum_proof":
            if not isinstance(item, bool):
                raise _fail("parameter quantum_proof is not a boolean")
            params[key] = item
        elif key == "raw_job":
            params[key] = _text(item, "parameter raw_job", limit=100)
        elif key == "inputs":
            if not isinstance(item, dict):
                raise _fail("parameter inputs is not an object")
            sources = {}
            for stage, source in item.items():
                if not isinstance(source, str) or source not in _INPUT_SOURCES:
                    raise _fail(f"input {one_line(stage, 40)} has an unknown source")
                sources[one_line(stage, 40)] = source
            params[key] = MappingProxyType(sources)
        elif isinstance(item, bool | int | float | str) or item is None:
            # A newer service may report more; plain values are kept, made safe.
            if isinstance(item, float) and not math.isfinite(item):
                continue
            params[name] = one_line(item, _MAX_TEXT) if isinstance(item, str) else item
    return MappingProxyType(params)


def _expected_bits(method: str, params: Mapping[str, Any]) -> int | None:
    """How many bits the parameters say the method makes, when they say enough to know."""
    m = params.get("ext1_output_num_bits")
    a, c = params.get("ext2_seed_num_bits"), params.get("ext2_wsr_multiplier")
    ext2 = (c - 1) * a if isinstance(a, int) and isinstance(c, int) and c >= 1 else None
    if method == "ext1":
        return m if isinstance(m, int) else None
    if method == "ext2":
        return ext2
    if isinstance(m, int) and ext2 is not None:
        return m + ext2
    return None


def _decode_check(value: object, index: int) -> CheckResult:
    if not isinstance(value, dict):
        raise _fail(f"quality check {index} is not an object")
    name = _text(value.get("name"), f"quality check {index}'s name", limit=40)
    statistic = value.get("statistic")
    if statistic is not None and not _is_number(statistic):
        raise _fail(f"quality check {name}'s statistic is not a number")
    p_value = value.get("p_value")
    if p_value is not None and (not _is_number(p_value) or not 0 <= p_value <= 1):
        raise _fail(f"quality check {name}'s p_value is not a number in [0, 1]")
    passed = value.get("passed")
    if passed is not None and not isinstance(passed, bool):
        raise _fail(f"quality check {name}'s passed is not a boolean")
    note = value.get("note", "")
    return CheckResult(
        name=name,
        statistic=math.nan if statistic is None else float(statistic),
        p_value=None if p_value is None else float(p_value),
        passed=passed,
        note="" if note is None else _text(note, f"quality check {name}'s note"),
    )


def _decode(text: str | bytes) -> ExtractorResult:
    try:
        body = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _fail(f"the result is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _fail("the result is not a JSON object")
    if body.get("program") != ProgramId.RANDOM_EXTRACTOR:
        raise _fail("this is not a random-extractor result")
    version = body.get("version")
    if version != RESULT_VERSION:
        raise _fail(f"result version {one_line(version, 20)} is not {RESULT_VERSION}")
    method = body.get("method")
    if method not in METHODS:
        raise _fail(f"unknown extractor method {one_line(method, 20)}")
    bits, num_bits = _decode_bits(body)
    params = _decode_params(body.get("parameters", {}))
    expected = _expected_bits(method, params)
    if expected is not None and expected != num_bits:
        raise _fail(f"the parameters make {expected} bits, but the result holds {num_bits}")
    shown = body.get("hex")
    if shown is not None and shown != _hex(bits):
        raise _fail("'hex' does not match 'bits'")
    checks = body.get("quality", [])
    if not isinstance(checks, list) or len(checks) > _MAX_CHECKS:
        raise _fail(f"'quality' is not a list of at most {_MAX_CHECKS} checks")
    quality = tuple(_decode_check(check, i) for i, check in enumerate(checks))
    alpha = body.get("alpha", ALPHA)
    if not _is_number(alpha) or not 0 < alpha < 1:
        raise _fail("'alpha' is not a number in (0, 1)")
    return ExtractorResult(bits, num_bits, method, params, quality, float(alpha))


def decode_extractor_result(text: str | bytes) -> ExtractorResult:
    """Read ``GET /jobs/{id}/results`` of a random-extractor job.

    Never raises anything but ``ExtractorResultError`` (a ``ValueError``), whatever the text.
    """
    try:
        return _decode(text)
    except ExtractorResultError:
        raise
    except Exception as exc:  # whatever else malformed input trips over
        raise _fail(f"malformed extractor result: {type(exc).__name__}: {exc}") from None
