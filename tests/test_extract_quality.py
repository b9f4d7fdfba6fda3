"""Quality checks against the worked examples of NIST SP 800-22 rev 1a."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from qjob_tui.extract import (
    ALPHA,
    CheckResult,
    bias_check,
    frequency_test,
    quality_report,
    runs_test,
)

# SP 800-22 sections 2.1.8 and 2.3.8: "the first 100 bits of the binary expansion of pi"
# (leading "11" included). Checked against pi computed below, so a typo cannot hide.
PI_100 = (
    "11001001000011111101101010100010001000010110100011"
    "00001000110100110001001100011001100010100010111000"
)


def to_bits(s: str) -> np.ndarray:
    return np.array([int(ch) for ch in s], dtype=np.uint8)


def pi_bits(n: int) -> str:
    """First n bits of pi in binary, from Machin's formula in integer arithmetic."""
    prec = n + 64

    def arctan_inv(x: int) -> int:
        total, term, k, sign = 0, (1 << prec) // x, 1, 1
        while term:
            total += sign * (term // k)
            term //= x * x
            k += 2
            sign = -sign
        return total

    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    return bin(pi >> (prec - (n - 2)))[2:]


def test_pi_string_is_pi() -> None:
    assert pi_bits(100) == PI_100
    assert PI_100.count("1") == 42


def test_frequency_nist_2_1_8() -> None:
    r = frequency_test(to_bits(PI_100))
    assert r.statistic == pytest.approx(1.6)  # |S_100| / sqrt(100) = 16 / 10
    assert r.p_value == pytest.approx(0.109599, abs=5e-7)
    assert r.passed is True and r.note == ""


def test_runs_nist_2_3_8() -> None:
    r = runs_test(to_bits(PI_100))
    assert r.statistic == 52  # V_100(obs)
    assert r.p_value == pytest.approx(0.500798, abs=5e-7)
    assert r.passed is True


def test_frequency_nist_2_1_4() -> None:
    r = frequency_test(to_bits("1011010101"))
    assert r.p_value == pytest.approx(0.527089, abs=5e-7)
    assert r.passed is True
    assert "below the recommended minimum" in r.note


def test_runs_nist_2_3_4() -> None:
    r = runs_test(to_bits("1001101011"))
    assert r.statistic == 7
    assert r.p_value == pytest.approx(0.147232, abs=5e-7)


def test_runs_not_applicable_when_pretest_fails() -> None:
    # pi = 0.75 with n = 100: |pi - 1/2| = 0.25 >= tau = 0.2
    r = runs_test(to_bits("1110" * 25))
    assert r.p_value is None and r.passed is None
    assert "not applicable" in r.note and "pre-test" in r.note
    assert r.statistic == 0.75


def test_runs_on_constant_short_strings() -> None:
    for s in ("1", "0000", "1" * 15):
        r = runs_test(to_bits(s))
        assert r.p_value is None and r.passed is None and "not applicable" in r.note


def test_failures_are_reported() -> None:
    runs = runs_test(to_bits("01" * 500))  # far too many runs
    assert runs.passed is False and runs.p_value is not None and runs.p_value < ALPHA
    runs = runs_test(to_bits("0" * 50 + "1" * 50))  # far too few
    assert runs.passed is False


def test_frequency_threshold() -> None:
    r = frequency_test(to_bits("1" * 60 + "0" * 40))
    assert r.p_value == pytest.approx(math.erfc(2 / math.sqrt(2)))
    assert r.passed is True
    r = frequency_test(to_bits("1" * 64 + "0" * 36))  # s_obs = 2.8, p = 0.0051
    assert r.passed is False


def test_bias_exact_binomial() -> None:
    r = bias_check(to_bits("1011010101"))  # 6 ones of 10
    assert r.statistic == 0.6
    assert r.p_value == pytest.approx(2 * sum(math.comb(10, k) for k in range(6, 11)) / 2**10)
    r = bias_check(to_bits(PI_100))
    expected = 2 * sum(math.comb(100, k) for k in range(43)) / 2**100
    assert r.p_value == pytest.approx(expected, rel=1e-12)
    r = bias_check(np.ones(1000, dtype=np.uint8))
    assert r.p_value == pytest.approx(2.0**-999, rel=1e-9) and r.passed is False
    n = 10**6
    skewed = np.zeros(n, dtype=np.uint8)
    skewed[: n // 2 + 700] = 1
    r = bias_check(skewed)
    # normal approximation with continuity correction is within 1e-4 here
    z = (700 - 0.5) / math.sqrt(n / 4)
    assert r.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-3)
    assert bias_check(to_bits("10")).p_value == 1.0


def test_report_and_empty_input() -> None:
    report = quality_report(to_bits(PI_100))
    assert [r.name for r in report] == ["bias", "frequency", "runs"]
    assert all(isinstance(r, CheckResult) for r in report)
    for r in quality_report(np.zeros(0, dtype=np.uint8)):
        assert r.p_value is None and r.passed is None and r.note == "no bits"
        assert math.isnan(r.statistic)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report[0].passed = False  # type: ignore[misc]


def test_invalid_input() -> None:
    with pytest.raises(ValueError, match="only 0 and 1"):
        frequency_test([0, 1, 2])
    with pytest.raises(ValueError, match="dtype"):
        runs_test(np.array([0.0, 1.0]))
