"""ext1 (Dodis) must be bit-exact: checked against the definition, at small and large n."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

from qjob_tui.extract import dodis, has_primitive_root_2, na_set
from qjob_tui.extract.dodis import _cyclic_corr_values, _fft_len, _parity

# The package re-exports the function under the module's name; fetch the module itself.
dodis_mod = importlib.import_module("qjob_tui.extract.dodis")

RNG = np.random.default_rng(20240601)
U = 2.0**-53


def bits(n: int, rng: np.random.Generator = RNG) -> np.ndarray:
    return rng.integers(0, 2, n, dtype=np.uint8)


def direct(x: np.ndarray, y: np.ndarray, m: int) -> np.ndarray:
    """The definition, as an m x n matrix of cyclic shifts (small n only)."""
    n = len(x)
    idx = (np.arange(m)[:, None] + np.arange(n)[None, :]) % n
    return ((y[idx].astype(np.int64) @ x.astype(np.int64)) % 2).astype(np.uint8)


def direct_bit(x: np.ndarray, yy: np.ndarray, i: int) -> int:
    """Integer correlation value at i, by counting (yy = y twice, as bool)."""
    n = len(x)
    return int(np.count_nonzero(x & yy[i : i + n]))


VALID_N = [3, 5, 11, 13, 19, 29, 37, 53, 59, 61, 67, 83, 101, 107, 131, 1019, 2027]


def test_valid_n_list_is_valid() -> None:
    assert all(has_primitive_root_2(n) for n in VALID_N)


def test_hand_example_shift_direction() -> None:
    y = np.array([1, 1, 0, 1, 0], dtype=np.uint8)
    e0 = np.array([1, 0, 0, 0, 0], dtype=np.uint8)
    e1 = np.array([0, 1, 0, 0, 0], dtype=np.uint8)
    # z_i = sum_j x_j y[(i+j) mod n]: x = e_0 reads y[i], x = e_1 reads y[i+1].
    assert dodis(e0, y, 5).tolist() == [1, 1, 0, 1, 0]
    assert dodis(e1, y, 5).tolist() == [1, 0, 1, 0, 1]
    assert dodis(e0 | e1, y, 3).tolist() == [0, 1, 1]


@pytest.mark.parametrize("n", VALID_N)
def test_matches_definition(n: int) -> None:
    for m in sorted({1, 2, n // 3 or 1, n - 1, n}):
        x, y = bits(n), bits(n)
        assert np.array_equal(dodis(x, y, m), direct(x, y, m)), (n, m)


def test_swapping_inputs_reverses_shift() -> None:
    n = 1019
    x, y = bits(n), bits(n)
    z, w = dodis(x, y, n), dodis(y, x, n)
    assert np.array_equal(w, z[(-np.arange(n)) % n])


def test_accepts_bool_and_int_inputs() -> None:
    x, y = bits(29), bits(29)
    ref = dodis(x, y, 29)
    assert dodis(x.astype(bool), y.astype(np.int64), 29).tolist() == ref.tolist()
    assert dodis(x.tolist(), y.tolist(), np.int64(29)).dtype == np.uint8


@pytest.mark.parametrize(
    ("x", "y", "m", "match"),
    [
        (np.zeros(11, np.uint8), np.zeros(13, np.uint8), 1, "same length"),
        (np.zeros(7, np.uint8), np.zeros(7, np.uint8), 1, "primitive root"),  # 2 has order 3
        (np.zeros(9, np.uint8), np.zeros(9, np.uint8), 1, "prime"),
        (np.zeros(1, np.uint8), np.zeros(1, np.uint8), 1, "prime"),
        (np.zeros(0, np.uint8), np.zeros(0, np.uint8), 1, "prime"),
        (np.zeros(11, np.uint8), np.zeros(11, np.uint8), 0, "1 <= m <= n"),
        (np.zeros(11, np.uint8), np.zeros(11, np.uint8), 12, "1 <= m <= n"),
        (np.zeros(11, np.uint8), np.zeros(11, np.uint8), 2.0, "integer"),
        (np.zeros(11, np.uint8), np.zeros(11, np.uint8), True, "integer"),
        (np.full(11, 2, np.uint8), np.zeros(11, np.uint8), 1, "only 0 and 1"),
        (np.zeros(11, np.uint8), np.full(11, -1), 1, "only 0 and 1"),
        (np.zeros(11), np.zeros(11, np.uint8), 1, "dtype"),
        (np.zeros((11, 1), np.uint8), np.zeros(11, np.uint8), 1, "1-D"),
    ],
)
def test_invalid_inputs(x: np.ndarray, y: np.ndarray, m: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        dodis(x, y, m)  # type: ignore[arg-type]


def test_blocked_path_matches_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs too long for one FFT are cut into blocks; force that with a tiny limit."""
    monkeypatch.setattr(dodis_mod, "MAX_FFT_LEN", 64)
    for n in (101, 1019):
        for m in (1, 31, 32, 33, 100, n):
            x, y = bits(n), bits(n)
            assert np.array_equal(dodis(x, y, m), direct(x, y, m)), (n, m)


def test_fft_len_is_smooth_and_minimal() -> None:
    def ok(v: int) -> bool:
        if v % 4:
            return False
        v //= 4
        for p in (2, 3, 5):
            while v % p == 0:
                v //= p
        return v == 1

    for n in [*range(1, 400), 999_979 * 2, 10**7 + 1, 2**27 - 1, 2**27]:
        got = _fft_len(n)
        assert got >= n and ok(got)
        assert not any(ok(v) for v in range(max(n, 4), min(got, n + 2000)) if v < got)
    assert _fft_len(2**27 - 1) == 2**27 == dodis_mod.MAX_FFT_LEN


def test_parity_rounding_and_guard() -> None:
    assert _parity(np.array([0.0, -1e-9, 0.9999, 3.2, 1e6 + 1.1]), 1).tolist() == [0, 0, 1, 1, 1]
    # scale 2: values are twice the integers.
    assert _parity(np.array([0.0, 2.1, 3.9, 6.3]), 2).tolist() == [0, 1, 0, 1]
    with pytest.raises(ArithmeticError):
        _parity(np.array([1.0, 2.4]), 1)
    with pytest.raises(ArithmeticError):
        _parity(np.array([np.nan]), 1)


def test_all_ones_has_largest_values() -> None:
    """x = y = 1 makes every correlation value n, the largest magnitude possible."""
    n = na_set(10**6) + 1
    ones = np.ones(n, dtype=np.uint8)
    assert np.all(dodis(ones, ones, n) == n % 2)
    vals = _cyclic_corr_values(ones, ones, n)
    assert np.max(np.abs(vals - n)) < 1e-3


def test_fft_error_model_holds() -> None:
    """The exactness proof assumes normwise error <= (log2 N + 3) * 8u per transform."""
    for n_fft in (2**21, 2_000_000):
        a = bits(n_fft).astype(np.float64)
        ref = np.fft.rfft(a.astype(np.longdouble))
        got = np.fft.rfft(a)
        err = np.linalg.norm((got.astype(np.clongdouble) - ref).astype(np.complex128))
        rel = err / np.linalg.norm(ref.astype(np.complex128))
        assert rel <= (math.log2(n_fft) + 3) * 8 * U
        inv = np.fft.irfft(got, n_fft)
        inv_ref = np.fft.irfft(got.astype(np.clongdouble), n_fft)
        rel_inv = np.linalg.norm((inv - inv_ref).astype(np.float64)) / np.linalg.norm(
            inv_ref.astype(np.float64)
        )
        assert rel_inv <= (math.log2(n_fft) + 3) * 8 * U


def test_exact_near_ten_million() -> None:
    """n = 9999973, m = n: every value near an integer, exact checksums, sampled counts."""
    n = na_set(10**7) + 1
    assert n == 9_999_973
    x, y = bits(n), bits(n)
    vals = _cyclic_corr_values(x, y, n)
    ints = np.rint(vals).astype(np.int64)
    # 1. All n values are close to integers (the bound allows 0.13 at N = 2^27).
    assert float(np.max(np.abs(vals - ints))) < 1e-3
    del vals
    # 2. Exact checksums over all n outputs (a single off-by-one anywhere changes S0,
    #    two errors that cancel in S0 change S1).
    x64, y64 = x.astype(np.int64), y.astype(np.int64)
    s0 = sum(int(c.sum()) for c in np.array_split(ints, 100))
    assert s0 == int(x64.sum()) * int(y64.sum())
    idx = np.arange(n, dtype=np.int64)
    step = 10_000  # i * c_i <= 1e14, so a chunk sum stays inside int64
    s1 = sum(int((idx[k : k + step] * ints[k : k + step]).sum()) for k in range(0, n, step))
    # sum_i i c_i = sum_j x_j sum_l ((l - j) mod n) y_l
    #             = X0 L1 - Y0 sum_j j x_j + n sum_j x_j prefix_j(y)
    prefix = np.concatenate(([0], np.cumsum(y64)[:-1]))
    expect = (
        int(x64.sum()) * int((idx * y64).sum())
        - int(y64.sum()) * int((idx * x64).sum())
        + n * int((x64 * prefix).sum())
    )
    assert s1 == expect
    # 3. Sampled values against direct counting.
    yy = np.concatenate([y, y]).astype(bool)
    xb = x.astype(bool)
    sample = [0, 1, 2, n // 2, n - 2, n - 1, *RNG.integers(0, n, 10).tolist()]
    for i in sample:
        assert ints[i] == direct_bit(xb, yy, i), i
    # 4. The public function (threads, parity guard) agrees bit for bit, for m = n and
    #    for a shorter m that uses another FFT length.
    z = dodis(x, y, n)
    assert np.array_equal(z, (ints & 1).astype(np.uint8))
    m = n // 6
    assert np.array_equal(dodis(x, y, m), z[:m])
