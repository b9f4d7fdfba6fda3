"""ext2 (Hayashi) against a slow GF(2^a) reference, field identities and dual universality."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

from qjob_tui.extract import has_primitive_root_2, hayashi, na_set

RNG = np.random.default_rng(7)


# --- slow reference: polynomials over GF(2) as Python ints, bit i = coefficient of t^i ---


def clmul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        b >>= 1
    return out


def polymod(z: int, modulus: int) -> int:
    """Schoolbook long division; deliberately unlike the cyclic trick under test."""
    deg = modulus.bit_length() - 1
    while z.bit_length() > deg:
        z ^= modulus << (z.bit_length() - 1 - deg)
    return z


def to_int(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def to_bits(v: int, a: int) -> np.ndarray:
    raw = np.frombuffer(v.to_bytes((a + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, count=a, bitorder="little")


def reference(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    a = len(r)
    c = len(x) // a
    all_one = (1 << (a + 1)) - 1
    seed = to_int(r)
    blocks = [to_int(x[k * a : (k + 1) * a]) for k in range(c)]
    out, power = [], 1
    for k in range(1, c):
        power = polymod(clmul(power, seed), all_one)
        out.append(to_bits(blocks[k - 1] ^ polymod(clmul(power, blocks[-1]), all_one), a))
    return np.concatenate(out)


def bits(n: int) -> np.ndarray:
    return RNG.integers(0, 2, n, dtype=np.uint8)


# --- tests --------------------------------------------------------------------------------


def test_reference_is_a_field_for_a_4() -> None:
    """Sanity of the reference: 1 + t + ... + t^4 is irreducible, so every r != 0 inverts."""
    for r in range(1, 16):
        assert any(polymod(clmul(r, s), 0b11111) == 1 for s in range(1, 16))


def test_hand_example_gf4() -> None:
    """a = 2: GF(4) with t^2 = t + 1. Seed r = t, x = (x1, x2, x3) = (0, 0, 1)."""
    seed = np.array([0, 1], dtype=np.uint8)  # t
    x = np.array([0, 0, 0, 0, 1, 0], dtype=np.uint8)  # x3 = 1
    # (x1 + r x3, x2 + r^2 x3) = (t, t + 1)
    assert hayashi(x, seed).tolist() == [0, 1, 1, 1]
    x[0] = 1  # x1 = 1: t + 1
    assert hayashi(x, seed).tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("a", [2, 4, 10, 12, 18, 28, 36, 52, 58, 60, 66, 82, 100, 130, 1018])
def test_matches_reference(a: int) -> None:
    assert has_primitive_root_2(a + 1)
    for c in (2, 3, 4, 5, 8):
        for _ in range(4):
            x, r = bits(a * c), bits(a)
            assert np.array_equal(hayashi(x, r), reference(x, r)), (a, c)


def test_matches_reference_on_threaded_path() -> None:
    """a >= 32768 runs the two product chains on two threads."""
    a = na_set(33_000)
    assert a >= 32_768
    for c in (3, 6):
        x, r = bits(a * c), bits(a)
        assert np.array_equal(hayashi(x, r), reference(x, r)), c


def test_blocked_path_matches_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Products too long for one FFT are computed in blocks; force that with a tiny limit."""
    monkeypatch.setattr(importlib.import_module("qjob_tui.extract.dodis"), "MAX_FFT_LEN", 64)
    for a, c in ((100, 4), (130, 3)):
        x, r = bits(a * c), bits(a)
        assert np.array_equal(hayashi(x, r), reference(x, r)), (a, c)


def test_special_seeds() -> None:
    a, c = 60, 4
    x = bits(a * c)
    blocks = x.reshape(c, a)
    zero = np.zeros(a, dtype=np.uint8)
    one = zero.copy()
    one[0] = 1
    assert np.array_equal(hayashi(x, zero), blocks[:-1].reshape(-1))
    assert np.array_equal(hayashi(x, one), (blocks[:-1] ^ blocks[-1]).reshape(-1))


def test_linear_in_x() -> None:
    a, c = 100, 5
    r, x1, x2 = bits(a), bits(a * c), bits(a * c)
    assert np.array_equal(hayashi(x1 ^ x2, r), hayashi(x1, r) ^ hayashi(x2, r))


def _reduce(v: np.ndarray) -> np.ndarray:
    """Length-(a+1) ring element to the field: add the all-one polynomial if t^a is set."""
    return v[:-1] ^ v[-1]


def test_large_a_field_identities() -> None:
    """a ~ 10^6, where the slow reference is too slow: use products known exactly.

    In GF(2)[t]/(t^p - 1), r * t^k is a cyclic shift and r * r a permutation (Frobenius).
    """
    a = na_set(10**6)
    p = a + 1
    r = bits(a)
    ring = np.append(r, 0).astype(np.uint8)
    k = int(RNG.integers(1, a))
    mono = np.zeros(a, dtype=np.uint8)
    mono[k] = 1
    zero = np.zeros(a, dtype=np.uint8)
    # x = (0, t^k): output r t^k
    assert np.array_equal(hayashi(np.concatenate([zero, mono]), r), _reduce(np.roll(ring, k)))
    # x = (0, 0, r): outputs (r^2, r^3); r^2 is the Frobenius permutation.
    square = np.zeros(p, dtype=np.uint8)
    square[(2 * np.arange(p)) % p] = ring
    out = hayashi(np.concatenate([zero, zero, r]), r)
    assert np.array_equal(out[:a], _reduce(square))
    # r^3 again as r * (r^2), with the operands in the other FFT roles.
    cube = hayashi(np.concatenate([zero, _reduce(square)]), r)
    assert np.array_equal(out[a:], cube)


def test_dual_universal_a4_c3() -> None:
    """Pr_r[y in C_r^perp] <= (c-1)/2^a for every y != 0, by brute force (a=4, c=3).

    C_r^perp is the row space of the (c-1)a x ca matrix of h_r; its 2^8 members are listed
    for each of the 16 seeds and counted per y.
    """
    a, c = 4, 3
    n_in, n_out = a * c, a * (c - 1)
    counts = np.zeros(2**n_in, dtype=np.int64)
    weights = 1 << np.arange(n_in)
    for seed in range(2**a):
        r = to_bits(seed, a)
        columns = [hayashi(np.eye(n_in, dtype=np.uint8)[j], r) for j in range(n_in)]
        h = np.stack(columns, axis=1)  # n_out x n_in
        members = set()
        for u in itertools.product((0, 1), repeat=n_out):
            row = (np.array(u, dtype=np.int64) @ h) % 2
            members.add(int(row @ weights))
        for v in members:
            counts[v] += 1
    assert counts[0] == 2**a
    worst = counts[1:].max() / 2**a
    assert worst <= (c - 1) / 2**a
    assert worst == (c - 1) / 2**a  # the bound is attained, so the check has teeth


@pytest.mark.parametrize(
    ("x", "seed", "match"),
    [
        (np.zeros(12, np.uint8), np.zeros(6, np.uint8), "primitive root"),  # 7: order of 2 is 3
        (np.zeros(16, np.uint8), np.zeros(8, np.uint8), "primitive root"),  # 9 composite
        (np.zeros(2, np.uint8), np.zeros(1, np.uint8), "primitive root"),
        (np.zeros(0, np.uint8), np.zeros(0, np.uint8), "primitive root"),
        (np.zeros(4, np.uint8), np.zeros(4, np.uint8), "c >= 2"),
        (np.zeros(9, np.uint8), np.zeros(4, np.uint8), "multiple"),
        (np.zeros(0, np.uint8), np.zeros(4, np.uint8), "c >= 2"),
        (np.full(8, 3, np.uint8), np.zeros(4, np.uint8), "only 0 and 1"),
        (np.zeros(8, np.uint8), np.zeros(4, np.float32), "dtype"),
        (np.zeros((2, 4), np.uint8), np.zeros(4, np.uint8), "1-D"),
    ],
)
def test_invalid_inputs(x: np.ndarray, seed: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        hayashi(x, seed)


def test_output_shape_and_dtype() -> None:
    out = hayashi(bits(10 * 7).astype(bool), bits(10).tolist())
    assert out.dtype == np.uint8 and out.shape == (60,)
