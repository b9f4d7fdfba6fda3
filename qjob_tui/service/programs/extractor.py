"""The ``random-extractor`` program: the retired CQC extractor service, run locally.

IBM's extractor service took the raw bits of a Bell experiment and a weak random string (WSR)
and returned nearly uniform bits: stage 1 ``ext1`` (Dodis et al.) and stage 2 ``ext2``
(Hayashi), which ``CQCExtractor.run`` chained with the ext1 output as ext2's seed. This program
runs the same stages (``qjob_tui.extract``) in a worker process. Params are untrusted: every
problem becomes a ``ProgramError`` that names the field and says what to send instead.

Params (a JSON object; byte strings are standard base64, bits packed LSB first in each byte,
bit i in byte i // 8 at position i % 8, exactly as the old service packed them)::

    "method"                "ext1", "ext2" or "both" (ext1, then ext2 seeded by its output)

  ext1 from bytes (the old form fields n, m, x, y):
    "ext1_input_num_bits"   n: a prime with 2 as a primitive root (3, 5, 11, 13, 19, ...)
    "ext1_output_num_bits"  m: 1 <= m <= n
    "ext1_raw_bytes"        the raw source, exactly ceil(n / 8) bytes
    "ext1_wsr_bytes"        the WSR, exactly ceil(n / 8) bytes; generated when left out

  ext1 from a finished sampler job of this service, instead of the four fields above:
    "raw_job"               its id; its measured bits (pubs, registers, bindings, shots in
                            order, bit 0 of a register first) are the raw source, at most
                            MAX_INPUT_BITS of them; n = ext1_input_num_bits(bits)
    "rate_bt"               min-entropy per raw bit, default 0.9 (no Bell test certifies a
                            Hadamard source, so this is an assumption: give your own)
    "rate_sv"               min-entropy per WSR bit, default 0.95 (qiskit_rng's default)
    "epsilon_sec"           security parameter, default 1e-30; ext1's error is epsilon_sec / 2
    "quantum_proof"         false (default) or true: qiskit_rng's two formulas for m
    "ext1_wsr_bytes"        optional WSR of at least n bits; the first n are used

  ext2 (the old form fields a, b, r, x):
    "ext2_seed_num_bits"    a: a + 1 a prime with 2 as a primitive root (2, 4, 10, 12, ...)
    "ext2_wsr_multiplier"   c >= 2: the WSR is c * a bits, the output (c - 1) * a bits
    "ext2_seed_bytes"       the seed, exactly ceil(a / 8) bytes (method "ext2" only; with
                            "both" the seed is the first a bits of the ext1 output)
    "ext2_wsr_bytes"        exactly ceil(a * c / 8) bytes; generated when left out
  With "both", a and c may be left out together: they are then derived as qiskit_rng did
  (``ext2_parameters(m, rate_sv, epsilon_sec / 2)``), and a given ext2_wsr_bytes must hold
  at least a * c bits.

    "wsr_seed"              seed of ``numpy.random.default_rng`` for every WSR not given
                            (ext1's first, then ext2's); random when left out, and recorded

The result (``GET /jobs/{id}/results``) is a JSON object::

    {"program": "random-extractor", "version": 1, "method": "both",
     "num_bits": 1234, "bits": "<base64, LSB first>", "hex": "<only up to HEX_MAX_BITS>",
     "parameters": {"ext1_input_num_bits": n, "ext1_output_num_bits": m,
                    "ext2_seed_num_bits": a, "ext2_wsr_multiplier": c,
                    "ext2_output_num_bits": (c - 1) * a,
                    "raw_job": id, "raw_bits_available": N, "raw_bits_used": n,
                    "rate_bt": given, "rate_bt_used": after dropping bits, "rate_sv": ...,
                    "epsilon_sec": ..., "epsilon_ext1": ..., "epsilon_ext2": ...,
                    "quantum_proof": false, "wsr_seed": seed,
                    "inputs": {"ext1_raw": "params" | "raw_job",
                               "ext1_wsr": "params" | "generated",
                               "ext2_seed": "params" | "ext1_output",
                               "ext2_wsr": "params" | "generated"}},
     "quality": [{"name": "bias", "statistic": 0.5, "p_value": 0.9, "passed": true,
                  "note": ""}, ... "frequency", "runs"],
     "alpha": 0.01}

A parameter appears only when the method used it. The output is ext1's bits then ext2's.
The job's ``backend`` is optional: it only picks the queue the job waits in (by default the
exact simulator's, which never has long jobs).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qjob_tui.extract import (
    bytes_to_bits,
    dodis,
    ext1_input_num_bits,
    ext1_output_num_bits,
    ext2_parameters,
    has_primitive_root_2,
    hayashi,
    hayashi_epsilon,
    na_set,
    quality_report,
)
from qjob_tui.model import ProgramId
from qjob_tui.service.errors import (
    CODE_BAD_EXTRACTOR_PARAMETERS,
    CODE_BAD_PARAMS,
    CODE_INPUT_TOO_LARGE,
    CODE_NOT_ENOUGH_RAW_BITS,
    CODE_RAW_JOB_NOT_COMPLETED,
    CODE_RAW_JOB_NOT_FOUND,
    CODE_RAW_JOB_UNUSABLE,
    ProgramError,
)
from qjob_tui.service.programs.raw_job import RawJob
from qjob_tui.wire import rest
from qjob_tui.wire.extractor import METHODS, encode_extractor_result
from qjob_tui.wire.sampler_results import measured_bits

MAX_INPUT_BITS = 2**22
"""Largest ext1 n and ext2 a * c: about 4.2 Mbit, half a megabyte of bytes per input."""

MAX_EXT2_MULTIPLIER = 4096
"""Largest ext2 c: ext2 does c - 1 field products one after the other."""

MAX_WSR_SEED = 2**128 - 1
"""Largest ``wsr_seed``: numpy's SeedSequence takes any size, 128 bits is plenty."""

MAX_DERIVING_RATE_SV = 0.999999
"""Above it, deriving ext2's c would search more than a million multipliers."""

DEFAULT_RATE_BT = 0.9
DEFAULT_RATE_SV = 0.95
DEFAULT_EPSILON_SEC = 1e-30

_EXT1_BYTES_FIELDS = (
    "ext1_input_num_bits",
    "ext1_output_num_bits",
    "ext1_raw_bytes",
    "ext1_wsr_bytes",
)
_RAW_JOB_FIELDS = (
    "raw_job",
    "ext1_wsr_bytes",
    "rate_bt",
    "rate_sv",
    "epsilon_sec",
    "quantum_proof",
)
_EXT2_FIELDS = ("ext2_seed_num_bits", "ext2_wsr_multiplier", "ext2_seed_bytes", "ext2_wsr_bytes")
_BOTH_EXT2_FIELDS = ("ext2_seed_num_bits", "ext2_wsr_multiplier", "ext2_wsr_bytes")
_KNOWN_FIELDS = frozenset(
    ("method", "wsr_seed", *_EXT1_BYTES_FIELDS, *_RAW_JOB_FIELDS, *_EXT2_FIELDS)
)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PACKING = "bit i in byte i // 8 at position i % 8 (LSB first), as CQCExtractor packed them"


def _kind(value: object) -> str:
    """How a JSON value looks, for messages (never the whole value: it may be megabytes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if abs(value) < 1e18 else type(value).__name__
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"a string of {len(value)} characters"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _name(text: str) -> str:
    """A field name or job id from the params, quoted unless it is plainly a name."""
    return text if _PLAIN_NAME.fullmatch(text) else repr(text[:40])


def _bad(message: str, solution: str) -> ProgramError:
    return ProgramError(CODE_BAD_PARAMS, message, solution)


def _invalid(message: str, solution: str) -> ProgramError:
    return ProgramError(CODE_BAD_EXTRACTOR_PARAMETERS, message, solution)


@dataclass
class ExtractorInputs:
    """Everything one extraction needs, checked, and what will be recorded about it."""

    method: str
    x: NDArray[np.uint8] | None = None
    y: NDArray[np.uint8] | None = None
    m: int = 0
    a: int = 0
    c: int = 0
    seed: NDArray[np.uint8] | None = None
    wsr2: NDArray[np.uint8] | None = None
    record: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


class _Reader:
    """Typed access to the params object, with messages that name the field."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def has(self, key: str) -> bool:
        return key in self.params and self.params[key] is not None

    def integer(self, key: str, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.params.get(key)
        if value is None:
            raise _bad(f"params.{key} is missing", f"Send {key} as a whole number.")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(
                f"params.{key} must be a whole number, not {_kind(value)}",
                f"Send {key} as a JSON integer such as 1019.",
            )
        if value < minimum:
            raise _invalid(
                f"params.{key} is {value}; it must be at least {minimum}",
                f"Send {key} >= {minimum}.",
            )
        if maximum is not None and value > maximum:
            raise _invalid(
                f"params.{key} is larger than {maximum}",
                f"Send {key} <= {maximum}.",
            )
        return value

    def number(self, key: str, default: float, low: float, high: float, *, closed: bool) -> float:
        """A float in (low, high] (closed) or (low, high), or the default when absent."""
        value = self.params.get(key)
        if value is None:
            return default
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise _bad(
                f"params.{key} must be a number, not {_kind(value)}",
                f"Send {key} as a JSON number, or leave it out for {default}.",
            )
        inside = low < value <= high if closed else low < value < high
        if not inside:
            interval = f"({low}, {high}]" if closed else f"({low}, {high})"
            raise _invalid(
                f"params.{key} is {value}; it must lie in {interval}",
                f"Send {key} in {interval}, or leave it out for {default}.",
            )
        return float(value)

    def flag(self, key: str) -> bool:
        value = self.params.get(key, False)
        if not isinstance(value, bool):
            raise _bad(f"params.{key} must be true or false, not {_kind(value)}", "Send a boolean.")
        return value

    def raw_bytes(self, key: str, max_bits: int) -> bytes | None:
        """Decode a base64 field (None when absent), refusing more than max_bits of data."""
        value = self.params.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _bad(
                f"params.{key} must be a base64 string, not {_kind(value)}",
                f"Send {key} as standard base64 of the packed bytes ({_PACKING}).",
            )
        max_bytes = -(-max_bits // 8)
        if len(value) > 4 * (-(-max_bytes // 3)):
            raise ProgramError(
                CODE_INPUT_TOO_LARGE,
                f"params.{key} holds more than {max_bytes} bytes, the most this field can use",
                f"Send at most {max_bytes} bytes ({max_bits} bits).",
            )
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(
                f"params.{key} is not valid base64",
                "Encode the bytes with standard base64 (A-Z, a-z, 0-9, +, /, = padding).",
            ) from None


def _bits_exactly(reader: _Reader, key: str, num_bits: int, count_name: str) -> NDArray[np.uint8]:
    """A required byte field that must hold exactly ceil(num_bits / 8) bytes."""
    data = reader.raw_bytes(key, num_bits)
    if data is None:
        raise _bad(f"params.{key} is missing", f"Send {key}: {num_bits} bits as base64 bytes.")
    return _check_length(data, key, num_bits, count_name)


def _check_length(data: bytes, key: str, num_bits: int, count_name: str) -> NDArray[np.uint8]:
    need = -(-num_bits // 8)
    if len(data) != need:
        raise _bad(
            f"params.{key} holds {len(data)} bytes, but {count_name} = {num_bits} bits "
            f"needs exactly {need}",
            f"Send {need} bytes for {num_bits} bits ({_PACKING}), or correct {count_name}.",
        )
    return bytes_to_bits(data, num_bits)


def _bits_at_least(reader: _Reader, key: str, num_bits: int) -> NDArray[np.uint8] | None:
    """An optional byte field for a derived size: at least num_bits, the first ones used."""
    data = reader.raw_bytes(key, MAX_INPUT_BITS)
    if data is None:
        return None
    if 8 * len(data) < num_bits:
        raise _bad(
            f"params.{key} holds {8 * len(data)} bits, but the derived size needs {num_bits}",
            f"Send at least {-(-num_bits // 8)} bytes, or leave {key} out to generate it.",
        )
    return bytes_to_bits(data, num_bits)


class _Wsr:
    """The generator of every WSR the params leave out, seeded once and recorded."""

    def __init__(self, reader: _Reader) -> None:
        self.seed: int | None = None
        if reader.has("wsr_seed"):
            self.seed = reader.integer("wsr_seed", maximum=MAX_WSR_SEED)
        self._rng: np.random.Generator | None = None
        self.used = False

    def bits(self, num_bits: int) -> NDArray[np.uint8]:
        if self._rng is None:
            if self.seed is None:
                self.seed = secrets.randbits(63)
            self._rng = np.random.default_rng(self.seed)
        self.used = True
        return self._rng.integers(0, 2, size=num_bits, dtype=np.uint8)


def _check_fields(params: dict[str, Any], method: str) -> None:
    """Refuse fields that are unknown or that the chosen method would silently ignore."""
    allowed = {"method", "wsr_seed"}
    if method in ("ext1", "both"):
        allowed |= set(_RAW_JOB_FIELDS if "raw_job" in params else _EXT1_BYTES_FIELDS)
    if method == "both":
        allowed |= {*_BOTH_EXT2_FIELDS, "rate_sv", "epsilon_sec"}
    if method == "ext2":
        allowed |= set(_EXT2_FIELDS)
    extra = sorted(set(params) - allowed)
    if not extra:
        return
    key = extra[0]
    if key not in _KNOWN_FIELDS:
        raise _bad(
            f"params.{_name(key)} is not a random-extractor parameter",
            f"Remove it; method {method!r} takes {', '.join(sorted(allowed))}.",
        )
    if key == "raw_job":
        raise _bad(
            'params.raw_job is the raw source of ext1, but method "ext2" has no ext1',
            'Use method "ext1" or "both" with raw_job, or send ext2_seed_bytes.',
        )
    if key in _EXT1_BYTES_FIELDS and "raw_job" in params:
        raise _bad(
            f"params.{key} cannot be combined with raw_job, which supplies ext1's input",
            f"Remove {key}, or remove raw_job and send ext1's bits as bytes.",
        )
    if key == "ext2_seed_bytes" and method == "both":
        raise _bad(
            'params.ext2_seed_bytes is not used with method "both": the ext1 output is the seed',
            'Remove ext2_seed_bytes, or use method "ext2".',
        )
    where = " with raw bytes" if method in ("ext1", "both") and "raw_job" not in params else ""
    raise _bad(
        f"params.{key} is not used by method {method!r}{where}",
        f"Remove it; method {method!r}{where} takes {', '.join(sorted(allowed))}.",
    )


def _check_n(n: int) -> None:
    if n > MAX_INPUT_BITS:
        raise ProgramError(
            CODE_INPUT_TOO_LARGE,
            f"ext1_input_num_bits is {n}, above this service's limit of {MAX_INPUT_BITS}",
            f"Extract from at most {MAX_INPUT_BITS} bits per job, or split the input.",
        )
    if not has_primitive_root_2(n):
        hint = (
            f"use n = {ext1_input_num_bits(n)}, the largest valid n below it, and drop the rest"
            if n >= 3
            else "the smallest valid n is 3"
        )
        raise _invalid(
            f"ext1_input_num_bits n = {n} is not a prime with 2 as a primitive root, which "
            "the Dodis extractor needs",
            f"Choose a valid n (3, 5, 11, 13, 19, 29, ...): {hint}.",
        )


def _check_ext2_sizes(a: int, c: int) -> None:
    if c < 2:
        hint = 'c = 0 meant "skip ext2" in CQCExtractor.run: use method "ext1"'
        raise _invalid(
            f"ext2_wsr_multiplier c = {c}; ext2 needs c >= 2 (its output is (c - 1) * a bits)",
            f"Send c >= 2 ({hint}).",
        )
    if c > MAX_EXT2_MULTIPLIER or a * c > MAX_INPUT_BITS:
        raise ProgramError(
            CODE_INPUT_TOO_LARGE,
            f"ext2 with a = {a}, c = {c} reads a * c = {a * c} WSR bits; this service allows "
            f"c <= {MAX_EXT2_MULTIPLIER} and a * c <= {MAX_INPUT_BITS}",
            "Use a smaller multiplier or seed (a lower rate_sv gives a smaller derived c).",
        )
    if not has_primitive_root_2(a + 1):
        hint = f"a = {na_set(a)} is the largest valid a below it" if a >= 2 else "the smallest is 2"
        raise _invalid(
            f"ext2_seed_num_bits a = {a} is not valid: a + 1 must be a prime with 2 as a "
            "primitive root, so that GF(2^a) can be built on the all-one polynomial",
            f"Choose a valid a (2, 4, 10, 12, 18, 28, ...): {hint}.",
        )


def _ext1_from_bytes(reader: _Reader, inputs: ExtractorInputs, wsr: _Wsr) -> None:
    """ext1's n, m, raw and WSR as the old form fields sent them."""
    if not any(reader.has(key) for key in _EXT1_BYTES_FIELDS):
        raise _bad(
            f"method {inputs.method!r} needs ext1's input, and the params give none",
            "Send raw_job (the id of a completed sampler job), or ext1_input_num_bits, "
            "ext1_output_num_bits and ext1_raw_bytes (ext1_wsr_bytes is optional).",
        )
    n = reader.integer("ext1_input_num_bits", minimum=1)
    _check_n(n)
    m = reader.integer("ext1_output_num_bits", minimum=1)
    if m > n:
        raise _invalid(
            f"ext1_output_num_bits m = {m} is larger than ext1_input_num_bits n = {n}",
            "Ask for at most n output bits (qiskit_rng's formula gives a safe m).",
        )
    inputs.x = _bits_exactly(reader, "ext1_raw_bytes", n, "ext1_input_num_bits")
    inputs.sources["ext1_raw"] = "params"
    if reader.has("ext1_wsr_bytes"):
        inputs.y = _bits_exactly(reader, "ext1_wsr_bytes", n, "ext1_input_num_bits")
        inputs.sources["ext1_wsr"] = "params"
    else:
        inputs.y = wsr.bits(n)
        inputs.sources["ext1_wsr"] = "generated"
    inputs.m = m
    inputs.record.update(ext1_input_num_bits=n, ext1_output_num_bits=m)


def _raw_job_bits(reader: _Reader, raw_job: RawJob | None) -> tuple[NDArray[np.uint8], int, str]:
    """The measured bits of the params' ``raw_job``, or the reason they cannot be used."""
    job_id = reader.params.get("raw_job")
    if not isinstance(job_id, str) or not job_id:
        raise _bad(
            f"params.raw_job must be a job id, not {_kind(job_id)}",
            "Send the id of a completed sampler job of this service.",
        )
    shown = _name(job_id)
    if raw_job is None or raw_job.job_id != job_id or raw_job.status is None:
        raise ProgramError(
            CODE_RAW_JOB_NOT_FOUND,
            f"raw_job {shown} is not a job of this service",
            "Send the id of a completed sampler job listed by GET /jobs.",
        )
    if raw_job.program != ProgramId.SAMPLER:
        raise ProgramError(
            CODE_RAW_JOB_UNUSABLE,
            f"raw_job {shown} is a {raw_job.program} job; only sampler jobs have measured bits",
            "Send the id of a completed sampler job (for example Hadamards measured).",
        )
    if raw_job.status != rest.COMPLETED:
        solution = (
            f"Wait until job {shown} has completed, then submit the extractor job again."
            if raw_job.status in rest.PENDING
            else "Send the id of a sampler job that completed."
        )
        raise ProgramError(
            CODE_RAW_JOB_NOT_COMPLETED,
            f"raw_job {shown} is {raw_job.status}, not Completed, so it has no bits to extract",
            solution,
        )
    if raw_job.result is None:
        raise ProgramError(
            CODE_RAW_JOB_UNUSABLE,
            f"raw_job {shown} completed but its result is missing",
            "Run the sampler job again and extract from the new one.",
        )
    try:
        measured = measured_bits(raw_job.result, MAX_INPUT_BITS)
    except ValueError as exc:
        raise ProgramError(
            CODE_RAW_JOB_UNUSABLE,
            f"the result of raw_job {shown} cannot be read: {str(exc)[:200]}",
            "Run the sampler job again and extract from the new one.",
        ) from None
    return measured.bits, measured.available, job_id


def _ext1_from_raw_job(
    reader: _Reader, inputs: ExtractorInputs, wsr: _Wsr, raw_job: RawJob | None
) -> tuple[float, float]:
    """n and m derived from a sampler job's bits as qiskit_rng derived them; (rate_sv, eps)."""
    rate_bt = reader.number("rate_bt", DEFAULT_RATE_BT, 0.0, 1.0, closed=True)
    rate_sv = reader.number("rate_sv", DEFAULT_RATE_SV, 0.0, 1.0, closed=True)
    epsilon_sec = reader.number("epsilon_sec", DEFAULT_EPSILON_SEC, 0.0, 1.0, closed=False)
    quantum_proof = reader.flag("quantum_proof")
    bits, available, job_id = _raw_job_bits(reader, raw_job)
    used = bits.size
    if used < 3:
        raise ProgramError(
            CODE_NOT_ENOUGH_RAW_BITS,
            f"raw_job {job_id} measured {available} bits; ext1 needs at least 3",
            "Extract from a sampler job with more shots or more measured qubits.",
        )
    n = ext1_input_num_bits(used)
    # Dropped bits may have carried entropy: count them against the rest, as qiskit_rng did.
    rate_bt_used = (used * rate_bt - (used - n)) / n
    epsilon_ext1 = epsilon_sec / 2
    try:
        m = ext1_output_num_bits(n, rate_bt_used, rate_sv, epsilon_ext1, quantum_proof)
    except ValueError as exc:
        raise ProgramError(
            CODE_NOT_ENOUGH_RAW_BITS,
            f"{n} raw bits of job {job_id} at rate_bt = {rate_bt}, rate_sv = {rate_sv} and "
            f"epsilon_sec = {epsilon_sec} leave too little for ext1: {exc}",
            "Extract from a sampler job with more shots or qubits, or accept a larger epsilon_sec.",
        ) from None
    inputs.x = bits[:n]
    inputs.sources["ext1_raw"] = "raw_job"
    given = _bits_at_least(reader, "ext1_wsr_bytes", n)
    inputs.y = given if given is not None else wsr.bits(n)
    inputs.sources["ext1_wsr"] = "params" if given is not None else "generated"
    inputs.m = m
    inputs.record.update(
        ext1_input_num_bits=n,
        ext1_output_num_bits=m,
        raw_job=job_id,
        raw_bits_available=available,
        raw_bits_used=n,
        rate_bt=rate_bt,
        rate_bt_used=rate_bt_used,
        rate_sv=rate_sv,
        epsilon_sec=epsilon_sec,
        epsilon_ext1=epsilon_ext1,
        quantum_proof=quantum_proof,
    )
    return rate_sv, epsilon_sec


def _ext2_sizes(reader: _Reader) -> tuple[int, int]:
    a = reader.integer("ext2_seed_num_bits", minimum=1)
    c = reader.integer("ext2_wsr_multiplier", minimum=0)
    _check_ext2_sizes(a, c)
    return a, c


def _ext2_for_both(
    reader: _Reader, inputs: ExtractorInputs, wsr: _Wsr, derive_with: tuple[float, float] | None
) -> None:
    """ext2's a, c and WSR after ext1: given, or derived from m, rate_sv and epsilon_sec."""
    given = [reader.has(k) for k in ("ext2_seed_num_bits", "ext2_wsr_multiplier")]
    if any(given) and not all(given):
        raise _bad(
            "params give only one of ext2_seed_num_bits and ext2_wsr_multiplier",
            "Send both, or neither to derive them from the ext1 output length and rate_sv.",
        )
    if all(given):
        if derive_with is None:
            for key in ("rate_sv", "epsilon_sec"):
                if reader.has(key):
                    raise _bad(
                        f"params.{key} has no effect when ext2_seed_num_bits and "
                        "ext2_wsr_multiplier are given",
                        f"Remove {key}, or leave a and c out to derive them.",
                    )
        a, c = _ext2_sizes(reader)
        if a > inputs.m:
            raise _invalid(
                f"ext2_seed_num_bits a = {a} is larger than ext1's output of m = {inputs.m} "
                "bits, which seeds ext2",
                f"Use a <= {inputs.m}: a = {na_set(inputs.m) if inputs.m >= 2 else 2} fits.",
            )
        wsr_given = reader.raw_bytes("ext2_wsr_bytes", a * c)
        wsr2 = (
            None
            if wsr_given is None
            else _check_length(wsr_given, "ext2_wsr_bytes", a * c, "a * c")
        )
    else:
        if derive_with is None:
            rate_sv = reader.number("rate_sv", DEFAULT_RATE_SV, 0.0, 1.0, closed=False)
            epsilon_sec = reader.number("epsilon_sec", DEFAULT_EPSILON_SEC, 0.0, 1.0, closed=False)
            inputs.record.update(rate_sv=rate_sv, epsilon_sec=epsilon_sec)
        else:
            rate_sv, epsilon_sec = derive_with
        if rate_sv > MAX_DERIVING_RATE_SV:
            raise _invalid(
                f"rate_sv = {rate_sv} is too close to 1 to derive ext2's multiplier: the "
                f"search would try up to {math.floor(1 / (1 - rate_sv))} values",
                f"Use rate_sv <= {MAX_DERIVING_RATE_SV}, or send ext2_seed_num_bits and "
                "ext2_wsr_multiplier.",
            )
        if inputs.m < 2:
            raise _invalid(
                f"ext1 gives only m = {inputs.m} bit, too few to seed ext2",
                "Ask ext1 for more output bits.",
            )
        try:
            a, c = ext2_parameters(inputs.m, rate_sv, epsilon_sec / 2)
        except ValueError as exc:
            raise _invalid(
                f"ext2's a and c cannot be derived: {exc}",
                "Use a lower rate_sv or a larger epsilon_sec, or send ext2_seed_num_bits and "
                "ext2_wsr_multiplier.",
            ) from None
        _check_ext2_sizes(a, c)
        inputs.record["epsilon_ext2"] = hayashi_epsilon(a, c, rate_sv)
        wsr2 = _bits_at_least(reader, "ext2_wsr_bytes", a * c)
    inputs.sources["ext2_seed"] = "ext1_output"
    inputs.sources["ext2_wsr"] = "params" if wsr2 is not None else "generated"
    inputs.wsr2 = wsr2 if wsr2 is not None else wsr.bits(a * c)
    inputs.a, inputs.c = a, c


def _ext2_alone(reader: _Reader, inputs: ExtractorInputs, wsr: _Wsr) -> None:
    """ext2 as ``run_async_ext2`` sent it: a, c, the seed and the WSR."""
    a, c = _ext2_sizes(reader)
    inputs.seed = _bits_exactly(reader, "ext2_seed_bytes", a, "ext2_seed_num_bits")
    inputs.sources["ext2_seed"] = "params"
    if reader.has("ext2_wsr_bytes"):
        inputs.wsr2 = _bits_exactly(reader, "ext2_wsr_bytes", a * c, "a * c")
        inputs.sources["ext2_wsr"] = "params"
    else:
        inputs.wsr2 = wsr.bits(a * c)
        inputs.sources["ext2_wsr"] = "generated"
    inputs.a, inputs.c = a, c


def parse_extractor_params(
    params: dict[str, Any], raw_job: RawJob | None = None
) -> ExtractorInputs:
    """Check the params and gather the extractor's inputs, or raise a ``ProgramError``."""
    method = params.get("method")
    if method not in METHODS:
        raise _bad(
            f'params.method must be "ext1", "ext2" or "both", not {_kind(method)}',
            'Send "ext1" (Dodis), "ext2" (Hayashi) or "both" (ext1 output seeds ext2, as '
            "CQCExtractor.run did).",
        )
    _check_fields(params, method)
    reader = _Reader(params)
    wsr = _Wsr(reader)
    inputs = ExtractorInputs(method=method)
    derive_with: tuple[float, float] | None = None
    if method in ("ext1", "both"):
        if "raw_job" in params:
            derive_with = _ext1_from_raw_job(reader, inputs, wsr, raw_job)
        else:
            _ext1_from_bytes(reader, inputs, wsr)
    if method == "both":
        _ext2_for_both(reader, inputs, wsr, derive_with)
    elif method == "ext2":
        _ext2_alone(reader, inputs, wsr)
    if inputs.c:
        inputs.record.update(
            ext2_seed_num_bits=inputs.a,
            ext2_wsr_multiplier=inputs.c,
            ext2_output_num_bits=(inputs.c - 1) * inputs.a,
        )
    if wsr.used:
        inputs.record["wsr_seed"] = wsr.seed
    elif wsr.seed is not None:
        raise _bad(
            "params.wsr_seed has no effect: every WSR was given as bytes",
            "Remove wsr_seed, or leave a WSR out to have it generated from the seed.",
        )
    return inputs


def extract(inputs: ExtractorInputs) -> NDArray[np.uint8]:
    """Run the stages: ext1, ext2, or ext1 then ext2 seeded by ext1's first a bits."""
    parts: list[NDArray[np.uint8]] = []
    if inputs.x is not None and inputs.y is not None:
        parts.append(dodis(inputs.x, inputs.y, inputs.m))
    if inputs.wsr2 is not None:
        seed = inputs.seed if inputs.seed is not None else parts[0][: inputs.a]
        parts.append(hayashi(inputs.wsr2, seed))
    return np.concatenate(parts)


def run_extractor(
    params: dict[str, Any], raw_job: RawJob | None = None
) -> tuple[str, dict[str, Any]]:
    """Run one ``random-extractor`` job: (result JSON text, details for the job record)."""
    inputs = parse_extractor_params(params, raw_job)
    bits = extract(inputs)
    parameters = {**inputs.record, "inputs": inputs.sources}
    details: dict[str, Any] = {"method": inputs.method, "output_bits": int(bits.size)}
    if "raw_job" in inputs.record:
        details["raw_job"] = inputs.record["raw_job"]
    return encode_extractor_result(inputs.method, bits, parameters, quality_report(bits)), details
