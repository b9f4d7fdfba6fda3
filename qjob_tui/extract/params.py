"""Parameters of the CQC extractors, computed the way ``qiskit_rng`` computed them.

``qiskit_rng.GeneratorResult.get_cqc_extractor_params`` turned Mermin-game results into
the arguments of the retired ``CQCExtractor.run(...)`` call. The formulas below follow
``qiskit_rng/utils.py`` and ``generator_result.py`` expression by expression, so that the
same inputs give the same sizes (floating point included); only the error handling is
stricter. ``bt_value`` is the Mermin *losing probability* throughout, as in the original.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bits import as_bits, bits_to_bytes
from .primes import check_int, na_set

__all__ = [
    "MAX_EXT2_SEED_BITS",
    "MIN_EXT1_OUTPUT_BITS",
    "ExtractorParams",
    "bell_value",
    "bt_adjusting",
    "cqc_extractor_params",
    "ext1_input_num_bits",
    "ext1_output_num_bits",
    "ext2_parameters",
    "extractor_bits",
    "guessing_probability",
    "h_mins",
    "hayashi_epsilon",
    "losing_probability",
    "wsr_bits",
]

MIN_EXT1_OUTPUT_BITS = 50
"""qiskit_rng refused to run the extractors for fewer ext1 output bits."""

MAX_EXT2_SEED_BITS = 5 * 10**8
"""qiskit_rng's ``max_hayashi_size``: the largest ext2 seed (field degree) it would request."""

# --- Bell value and min-entropy (qiskit_rng.utils) -------------------------------------------


def extractor_bits(raw_bits_list: ArrayLike) -> NDArray[np.uint8]:
    """Keep the first 2 of the 3 bits of every Mermin shot, as ``get_extractor_bits`` did.

    The third bit is determined by the other two and the game, so it carries no entropy.
    """
    arr = np.asarray(raw_bits_list)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"raw_bits_list must be a 2-D array of shots x bits, got {arr.shape}")
    return as_bits(arr[:, :2].reshape(-1), "raw_bits_list")


def bell_value(wsr: ArrayLike, raw_bits_list: ArrayLike) -> tuple[float, float, float]:
    """Return (losing probability, winning probability, Mermin correlator) of the game.

    A round is lost when the 3 WSR bits sum to 1 and the outputs have odd parity, or the WSR
    bits sum to 3 and the outputs have even parity; ``correlator = 4 - 16 * losing``.
    """
    w = as_bits(np.asarray(wsr).reshape(-1), "wsr").reshape(np.shape(wsr))
    b = as_bits(np.asarray(raw_bits_list).reshape(-1), "raw_bits_list").reshape(
        np.shape(raw_bits_list)
    )
    if w.ndim != 2 or b.ndim != 2 or w.shape[0] != b.shape[0] or w.shape[0] == 0:
        raise ValueError(
            f"wsr and raw_bits_list must be 2-D with the same non-zero number of rounds, "
            f"got {w.shape} and {b.shape}"
        )
    w_sum = w.sum(axis=1)
    b_par = b.sum(axis=1) % 2
    lost = ((w_sum == 1) & (b_par == 1)) | ((w_sum == 3) & (b_par == 0))
    losing = int(lost.sum()) / w.shape[0]
    return losing, 1 - losing, 4 - 16 * losing


def losing_probability(correlator: float) -> float:
    """Mermin losing probability ``(4 - correlator) / 16`` used as the Bell value."""
    if not -12.0 <= correlator <= 4.0:
        raise ValueError(f"Mermin correlator must lie in [-12, 4], got {correlator}")
    return (4 - correlator) / 16


def bt_adjusting(bt_value: float, epsilon: float, delta_finite_stat: float = 0) -> float:
    """Bell value corrected for a Santha-Vazirani WSR of bias epsilon (qiskit_rng formula)."""
    if not 0 <= epsilon < 0.5:
        raise ValueError(f"epsilon (Santha-Vazirani bias) must lie in [0, 0.5), got {epsilon}")
    return (bt_value + delta_finite_stat) / (8 * ((0.5 - epsilon) ** 3))


def guessing_probability(bt_adjusted: float) -> float:
    """Adversary's guessing probability for one round's two bits, from the adjusted Bell value."""
    if bt_adjusted < 0 or math.isnan(bt_adjusted):
        raise ValueError(f"adjusted Bell value must be >= 0, got {bt_adjusted}")
    if bt_adjusted >= 1 / 8:
        return 1.0
    if bt_adjusted >= 1 / 16:
        return 0.5 + 4 * bt_adjusted
    return 0.25 + 2 * bt_adjusted + math.sqrt(3) * math.sqrt(bt_adjusted - 4 * (bt_adjusted**2))


def h_mins(bt_value: float, num_bits: int, rate_sv: float) -> float:
    """Min-entropy rate per raw bit (``rate_bt``) certified by the Bell value.

    Each round yields two bits, hence ``num_bits / 2`` rounds; num_bits cancels but is
    kept for the original signature.
    """
    num_bits = check_int(num_bits, "num_bits")
    if num_bits <= 0:
        raise ValueError(f"num_bits must be > 0, got {num_bits}")
    if not 0 < rate_sv <= 1:
        raise ValueError(f"rate_sv must lie in (0, 1], got {rate_sv}")
    epsilon_sv = 2 ** (-rate_sv) - 1 / 2
    h_min_bt = -num_bits / 2 * math.log2(guessing_probability(bt_adjusting(bt_value, epsilon_sv)))
    return h_min_bt / num_bits


# --- Extractor sizes -------------------------------------------------------------------------


def ext1_input_num_bits(num_bits: int) -> int:
    """Largest n <= num_bits that is a prime with primitive root 2: ``na_set(num_bits-1)+1``."""
    num_bits = check_int(num_bits, "num_bits")
    if num_bits < 3:
        raise ValueError(f"ext1 needs at least 3 raw bits (smallest valid n is 3), got {num_bits}")
    return na_set(num_bits - 1) + 1


def ext1_output_num_bits(
    n: int, rate_bt: float, rate_sv: float, epsilon: float, quantum_proof: bool = False
) -> int:
    """Dodis output length m for min-entropy rates rate_bt (raw) and rate_sv (WSR).

    classical:     floor(n (rate_bt + rate_sv - 1) + 1 - 2 log2(1/eps))
    quantum-proof: floor((n (rate_bt + rate_sv - 1) + 1 - 8 log2(1/eps) - 8 log2(sqrt(3)/2)) / 5)
    Raises ValueError below 50 bits, where qiskit_rng refused to extract.
    """
    n = check_int(n, "n")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must lie in (0, 1), got {epsilon}")
    if not quantum_proof:
        m = math.floor(n * (rate_bt + rate_sv - 1) + 1 - 2 * math.log2(1 / epsilon))
    else:
        m = math.floor(
            1
            / 5
            * (
                n * (rate_bt + rate_sv - 1)
                + 1
                - 8 * math.log2(1 / epsilon)
                - 8 * math.log2(math.sqrt(3) / 2)
            )
        )
    if m < MIN_EXT1_OUTPUT_BITS:
        raise ValueError(
            f"Not enough output for the first extractor: m={m} < {MIN_EXT1_OUTPUT_BITS}. "
            "Reduce the security parameters or increase the sample size."
        )
    return m


def hayashi_epsilon(a: int, c: int, rate_sv: float) -> float:
    """ext2 error ``sqrt(c-1) * 2**((a/2) (c (1-rate_sv) - 1))`` (inf instead of overflow)."""
    exponent = a / 2 * (c * (1 - rate_sv) - 1)
    if exponent > 1000:
        return math.inf
    return math.sqrt(c - 1) * pow(2, exponent)


def ext2_parameters(
    m1: int,
    rate_sv: float,
    epsilon: float,
    trusted_backend: bool = True,
    privacy: bool = False,
) -> tuple[int, int]:
    """Return ``(ext2_seed_num_bits, ext2_wsr_multiplier)`` = (a, c), or (0, 0) to skip ext2.

    ext2 only runs for a trusted backend without privacy amplification. a = na_set(m1);
    c is the largest multiplier <= floor(1/(1-rate_sv)) whose error is <= epsilon (the
    ext1 error), searched downwards to 2 as qiskit_rng did.
    """
    m1 = check_int(m1, "m1")
    if privacy and not trusted_backend:
        raise ValueError("Cannot perform privacy amplification using an untrusted backend.")
    if not trusted_backend or privacy:
        return 0, 0
    if not 0 < rate_sv < 1:
        raise ValueError(f"rate_sv must lie in (0, 1) for the second extractor, got {rate_sv}")
    tem = round((1 - rate_sv) * 10**8) / 10**8
    if tem == 0:
        raise ValueError(f"rate_sv={rate_sv} is too close to 1 for the second extractor")
    c_max = math.floor(1 / tem)
    a = na_set(m1)
    if a > MAX_EXT2_SEED_BITS:
        raise ValueError(
            f"Input size is too large for the second extractor: a={a} > {MAX_EXT2_SEED_BITS}"
        )
    for c in range(c_max, 1, -1):
        if hayashi_epsilon(a, c, rate_sv) <= epsilon:
            return a, c
    raise ValueError(
        f"Invalid security parameters for the second extractor: no multiplier c in "
        f"[2, {c_max}] gives an error <= {epsilon} with a={a}, rate_sv={rate_sv}"
    )


@dataclass(frozen=True)
class ExtractorParams:
    """The six arguments of the retired ``CQCExtractor.run(...)``, in the same order.

    ``ext2_wsr_multiplier == 0`` means ext2 is skipped. The WSR for ext2 is not stored: it
    was generated at run time (``ext2_seed_num_bits * ext2_wsr_multiplier`` bits).
    """

    ext1_input_num_bits: int
    ext1_output_num_bits: int
    ext1_raw_bytes: bytes
    ext1_wsr_bytes: bytes
    ext2_seed_num_bits: int
    ext2_wsr_multiplier: int

    @property
    def ext2_wsr_num_bits(self) -> int:
        """Bits of fresh WSR ext2 consumes (a * c)."""
        return self.ext2_seed_num_bits * self.ext2_wsr_multiplier

    @property
    def ext2_output_num_bits(self) -> int:
        """Bits ext2 appends to the ext1 output ((c - 1) * a, or 0 when skipped)."""
        if self.ext2_wsr_multiplier == 0:
            return 0
        return (self.ext2_wsr_multiplier - 1) * self.ext2_seed_num_bits

    @property
    def output_num_bits(self) -> int:
        """Length of the final output: ext1 bits followed by ext2 bits."""
        return self.ext1_output_num_bits + self.ext2_output_num_bits

    def run_args(self) -> tuple[int, int, bytes, bytes, int, int]:
        """Positional arguments for an old-style ``run(...)`` call."""
        return (
            self.ext1_input_num_bits,
            self.ext1_output_num_bits,
            self.ext1_raw_bytes,
            self.ext1_wsr_bytes,
            self.ext2_seed_num_bits,
            self.ext2_wsr_multiplier,
        )


WsrGenerator = Callable[[int], ArrayLike]


def _default_wsr(num_bits: int) -> NDArray[np.uint8]:
    """Stand-in for qiskit_rng's ``generate_wsr``: uniformly random bits from numpy."""
    return np.random.default_rng().integers(0, 2, size=num_bits, dtype=np.uint8)


def wsr_bits(generator: WsrGenerator | None, num_bits: int, name: str) -> NDArray[np.uint8]:
    """Call the WSR generator and check it returned exactly the bits asked for."""
    bits = as_bits((generator or _default_wsr)(num_bits), name)
    if bits.size != num_bits:
        raise ValueError(f"{name} generator returned {bits.size} bits, expected {num_bits}")
    return bits


def cqc_extractor_params(
    bits: ArrayLike,
    correlator: float,
    *,
    expected_correlator: float | None = None,
    rate_sv: float = 0.95,
    epsilon_sec: float = 1e-30,
    quantum_proof: bool = False,
    trusted_backend: bool = True,
    privacy: bool = False,
    wsr_generator: WsrGenerator | None = None,
) -> ExtractorParams:
    """Port of ``GeneratorResult.get_cqc_extractor_params`` on already-selected raw bits.

    ``bits`` are the extractor bits (2 per shot, see ``extractor_bits``) and ``correlator``
    the observed Mermin correlator. If ``expected_correlator`` is given, it is the value
    used (and the observed one must reach it), as with qiskit_rng's backend constants.
    """
    raw = as_bits(bits, "bits")
    if expected_correlator is None:
        expected_correlator = correlator
    if correlator < expected_correlator:
        raise ValueError(
            f"Observed correlator value {correlator} is lower than expected value "
            f"{expected_correlator}. Rerun with a larger sample size or use a different backend."
        )
    if privacy and not trusted_backend:
        raise ValueError("Cannot perform privacy amplification using an untrusted backend.")
    if not 0 < epsilon_sec < 1:
        raise ValueError(f"epsilon_sec must lie in (0, 1), got {epsilon_sec}")

    num_bits = raw.size
    n = ext1_input_num_bits(num_bits)
    rate_bt = h_mins(losing_probability(expected_correlator), num_bits, rate_sv)

    epsilon_dodis = epsilon_sec / 2
    diff = num_bits - n
    # Bits dropped to reach a valid n carry their share of entropy away.
    rate_bt = (num_bits * rate_bt - diff) / (num_bits - diff)
    m1 = ext1_output_num_bits(n, rate_bt, rate_sv, epsilon_dodis, quantum_proof)

    raw_bytes = bits_to_bytes(raw[:n])
    wsr_bytes = bits_to_bytes(wsr_bits(wsr_generator, n, "ext1 WSR"))
    a, c = ext2_parameters(m1, rate_sv, epsilon_dodis, trusted_backend, privacy)
    return ExtractorParams(n, m1, raw_bytes, wsr_bytes, a, c)
