"""Quick statistical checks on extracted bits, in the style of NIST SP 800-22 rev 1a.

They are sanity checks for the dashboard (a broken pipeline shows up at once), not a
certification: passing says nothing about unpredictability, which comes from the Bell
test and the extractor proofs. Each check returns a ``CheckResult`` judged at
``ALPHA = 0.01``, the level SP 800-22 uses.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from qjob_tui.results import ALPHA, CheckResult

from .bits import as_bits

__all__ = [
    "ALPHA",
    "CheckResult",
    "bias_check",
    "frequency_test",
    "quality_report",
    "runs_test",
]

_NIST_MIN_BITS = 100


def _judge(name: str, statistic: float, p_value: float, n: int, note: str = "") -> CheckResult:
    """Pass/fail at ALPHA, warning when n is below SP 800-22's recommended 100 bits."""
    if n < _NIST_MIN_BITS:
        small = f"n={n} < {_NIST_MIN_BITS}: below the recommended minimum"
        note = f"{note}; {small}" if note else small
    return CheckResult(name, statistic, p_value, p_value >= ALPHA, note)


def _not_applicable(name: str, note: str) -> CheckResult:
    """Result for a check that cannot be computed (e.g. no bits)."""
    return CheckResult(name, math.nan, None, None, note)


def _binomial_two_sided(ones: int, n: int) -> float:
    """Exact two-sided p-value of ``ones`` successes in n fair coin flips.

    P = min(1, 2 P[X <= k]) with k = min(ones, n - ones); Binomial(n, 1/2) is symmetric,
    so this equals the likelihood method. P[X = k] comes from lgamma, the terms below it
    from the ratios i / (n - i + 1); terms more than 40 sqrt(n) below k are < 1e-300 of
    P[X = k] and are left out, so the cost is O(sqrt(n)) for any n.
    """
    k = min(ones, n - ones)
    log_top = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    i = np.arange(k, max(0, k - 40 * math.isqrt(n) - 50), -1, dtype=np.float64)
    below = np.exp(np.cumsum(np.log(i / (n - i + 1))))
    return min(1.0, 2 * math.exp(log_top) * (1.0 + float(below.sum())))


def bias_check(bits: ArrayLike) -> CheckResult:
    """Fraction of ones (the statistic) with an exact two-sided binomial test of P[1] = 1/2."""
    arr = as_bits(bits)
    n = arr.size
    if n == 0:
        return _not_applicable("bias", "no bits")
    ones = int(np.count_nonzero(arr))
    return _judge("bias", ones / n, _binomial_two_sided(ones, n), n)


def frequency_test(bits: ArrayLike) -> CheckResult:
    """SP 800-22 2.1 frequency (monobit): s_obs = |#1 - #0| / sqrt(n), p = erfc(s_obs/sqrt 2)."""
    arr = as_bits(bits)
    n = arr.size
    if n == 0:
        return _not_applicable("frequency", "no bits")
    s_n = 2 * int(np.count_nonzero(arr)) - n
    s_obs = abs(s_n) / math.sqrt(n)
    return _judge("frequency", s_obs, math.erfc(s_obs / math.sqrt(2)), n)


def runs_test(bits: ArrayLike) -> CheckResult:
    """SP 800-22 2.3 runs test; statistic is V_n(obs), the total number of runs.

    Its frequency pre-test |pi - 1/2| < 2/sqrt(n) must hold; if not, the test is reported
    as not applicable (p_value None) instead of SP 800-22's conventional p = 0.
    """
    arr = as_bits(bits)
    n = arr.size
    if n == 0:
        return _not_applicable("runs", "no bits")
    pi = int(np.count_nonzero(arr)) / n
    tau = 2 / math.sqrt(n)
    if pi in (0.0, 1.0):  # only possible for n < 16, where tau > 1/2
        return CheckResult("runs", pi, None, None, "not applicable: all bits are equal")
    if abs(pi - 0.5) >= tau:
        return CheckResult(
            "runs",
            pi,
            None,
            None,
            f"not applicable: frequency pre-test failed (|pi - 1/2| = {abs(pi - 0.5):.6f} "
            f">= tau = {tau:.6f}); statistic is pi",
        )
    v_obs = 1 + int(np.count_nonzero(arr[1:] != arr[:-1]))
    spread = 2 * math.sqrt(2 * n) * pi * (1 - pi)
    p = math.erfc(abs(v_obs - 2 * n * pi * (1 - pi)) / spread)
    return _judge("runs", float(v_obs), p, n)


def quality_report(bits: ArrayLike) -> tuple[CheckResult, ...]:
    """All checks, in display order: bias, frequency, runs."""
    arr = as_bits(bits)
    return bias_check(arr), frequency_test(arr), runs_test(arr)
