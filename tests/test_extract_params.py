"""Parameter helpers (as qiskit_rng computed them), byte packing and the two-stage run."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from qjob_tui.extract import (
    MIN_EXT1_OUTPUT_BITS,
    ExtractorParams,
    bell_value,
    bits_to_bytes,
    bt_adjusting,
    bytes_to_bits,
    cqc_extractor_params,
    dodis,
    ext1_input_num_bits,
    ext1_output_num_bits,
    ext2_parameters,
    extractor_bits,
    guessing_probability,
    h_mins,
    has_primitive_root_2,
    hayashi,
    hayashi_epsilon,
    is_prime,
    losing_probability,
    na_set,
    run_cqc_extractor,
    to_hex,
)

RNG = np.random.default_rng(3)

# OEIS A001122, primes with primitive root 2 (the hand-checked list, extended).
PRIMES_ROOT_2 = [3, 5, 11, 13, 19, 29, 37, 53, 59, 61, 67, 83, 101, 107, 131, 139, 149, 163]


def order_of_2(p: int) -> int:
    """Multiplicative order of 2 mod p by repeated doubling (independent of the code)."""
    k, v = 1, 2 % p
    while v != 1:
        v = v * 2 % p
        k += 1
    return k


def sieve(n: int) -> list[int]:
    flags = [True] * (n + 1)
    flags[0] = flags[1] = False
    for i in range(2, int(n**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = [False] * len(flags[i * i :: i])
    return [i for i, f in enumerate(flags) if f]


# --- number theory -------------------------------------------------------------------------


def test_is_prime_matches_sieve() -> None:
    primes = set(sieve(20_000))
    assert [n for n in range(20_001) if is_prime(n)] == sorted(primes)
    assert is_prime(2**61 - 1) and not is_prime(2**61 + 1)
    assert not is_prime(561) and not is_prime(3_215_031_751)  # Carmichael / strong pseudoprime


def test_primes_with_primitive_root_2() -> None:
    found = [p for p in range(2, 164) if has_primitive_root_2(p)]
    assert found == PRIMES_ROOT_2
    brute = [p for p in sieve(5000) if p > 2 and order_of_2(p) == p - 1]
    assert [p for p in range(5000) if has_primitive_root_2(p)] == brute


def test_na_set_small_values() -> None:
    # largest even k' <= k with k'+1 in the list
    expected = {2: 2, 3: 2, 4: 4, 5: 4, 9: 4, 10: 10, 11: 10, 12: 12, 17: 12, 18: 18, 27: 18}
    expected |= {28: 28, 36: 36, 52: 52, 58: 58, 60: 60, 65: 60, 66: 66, 81: 66, 82: 82}
    for k, v in expected.items():
        assert na_set(k) == v, k
    valid = [p - 1 for p in sieve(3000) if p > 2 and order_of_2(p) == p - 1]
    for k in range(2, 3000):
        assert na_set(k) == max(v for v in valid if v <= k), k


def test_na_set_large_values() -> None:
    for k in (10**5, 10**6, 10**7, 5 * 10**8):
        v = na_set(k)
        assert v % 2 == 0 and v <= k and has_primitive_root_2(v + 1)
        assert not any(has_primitive_root_2(w + 1) for w in range(v + 2, k + 1, 2))
    assert na_set(10**6) == 999_978 and na_set(10**7) == 9_999_972


@pytest.mark.parametrize("k", [1, 0, -5, 2.0, True, "10"])
def test_na_set_rejects_invalid(k: object) -> None:
    with pytest.raises(ValueError):
        na_set(k)  # type: ignore[arg-type]


# --- Bell value and min-entropy --------------------------------------------------------------


def test_bell_value_counts_lost_rounds() -> None:
    wsr = [[1, 0, 0], [1, 1, 1], [0, 1, 1], [0, 0, 1]]
    out = [[1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 1, 1]]
    # lost: round 0 (sum wsr 1, odd output), round 1 (sum 3, even output)
    losing, winning, corr = bell_value(wsr, out)
    assert (losing, winning, corr) == (0.5, 0.5, -4.0)
    with pytest.raises(ValueError, match="same non-zero number of rounds"):
        bell_value(wsr, out[:3])


def test_extractor_bits_keeps_two_of_three() -> None:
    shots = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.uint8)
    assert extractor_bits(shots).tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match="2-D"):
        extractor_bits([1, 0, 1])


def test_losing_probability() -> None:
    assert losing_probability(4.0) == 0.0
    assert losing_probability(3.15) == pytest.approx(0.053125)
    with pytest.raises(ValueError, match="correlator"):
        losing_probability(4.5)


def test_guessing_probability_branches() -> None:
    assert guessing_probability(0.0) == 0.25
    assert guessing_probability(1 / 16) == 0.75
    assert guessing_probability(0.1) == pytest.approx(0.9)
    assert guessing_probability(1 / 8) == 1.0
    assert guessing_probability(0.3) == 1.0
    # continuous at 1/16: 0.25 + 1/8 + sqrt(3) sqrt(1/16 - 1/64) = 3/4
    assert guessing_probability(1 / 16 - 1e-12) == pytest.approx(0.75, abs=1e-5)
    with pytest.raises(ValueError, match=">= 0"):
        guessing_probability(-0.01)


def test_bt_adjusting_and_h_mins() -> None:
    assert bt_adjusting(0.05, 0.0) == pytest.approx(0.05)  # 8 * (1/2)^3 = 1
    assert h_mins(0.0, 1000, 1.0) == 1.0  # perfect game, perfect WSR: 1 bit per bit
    # ibmq_ourense's expected correlator 3.15 and rate_sv 0.95, by hand:
    eps = 2**-0.95 - 0.5
    bt = 0.053125 / (8 * (0.5 - eps) ** 3)
    pg = 0.25 + 2 * bt + math.sqrt(3) * math.sqrt(bt - 4 * bt**2)
    assert h_mins(0.053125, 1000, 0.95) == pytest.approx(-0.5 * math.log2(pg), rel=1e-15)
    assert 0.22 < h_mins(0.053125, 1000, 0.95) < 0.221
    with pytest.raises(ValueError, match="rate_sv"):
        h_mins(0.05, 10, 1.5)
    with pytest.raises(ValueError, match="num_bits"):
        h_mins(0.05, 0, 0.9)
    with pytest.raises(ValueError, match="epsilon"):
        bt_adjusting(0.05, 0.5)


# --- extractor sizes -------------------------------------------------------------------------


def test_ext1_input_num_bits() -> None:
    assert ext1_input_num_bits(3) == 3
    assert ext1_input_num_bits(20_000) == 19_997
    assert ext1_input_num_bits(10**6) == 999_979
    with pytest.raises(ValueError, match="at least 3"):
        ext1_input_num_bits(2)


def test_ext1_output_num_bits_formulas() -> None:
    eps = 2.0**-100
    # classical: floor(n (rate_bt + rate_sv - 1) + 1 - 200); rate sum 0.5+0.95-1 is
    # 0.44999999999999996 in floats, so 1000 * 0.45 + 1 - 200 = 251 - 6e-14 -> 250.
    assert ext1_output_num_bits(1000, 0.5, 0.95, eps) == 250
    assert ext1_output_num_bits(10_007, 0.5, 0.95, eps) == math.floor(10_007 * 0.45 - 199)
    # quantum-proof: floor((0.45 n + 1 - 800 - 8 log2(sqrt(3)/2)) / 5), 8 log2(.866) = -1.66
    assert ext1_output_num_bits(10_000, 0.5, 0.95, eps, quantum_proof=True) == 740
    with pytest.raises(ValueError, match="m=49 < 50"):
        ext1_output_num_bits(1000, 0.5, 0.95, 2.0**-200.75)  # 450 + 1 - 401.5 = 49.5
    with pytest.raises(ValueError, match="Not enough output"):
        ext1_output_num_bits(100, 0.5, 0.95, eps)
    with pytest.raises(ValueError, match="epsilon"):
        ext1_output_num_bits(1000, 0.5, 0.95, 0.0)
    assert MIN_EXT1_OUTPUT_BITS == 50


def test_ext2_parameters() -> None:
    tol = 1e-30 / 2
    # hand-checked: c_max = floor(1/0.05) = 20; c = 20 has error ~sqrt(19) (exponent ~0);
    # c = 19: sqrt(18) * 2^(-0.025 a) <= 5e-31 needs a >= 4110.
    assert ext2_parameters(18_796, 0.95, tol) == (18_786, 19)
    # a = na_set(2000): c = 18 needs a >= 2054, c = 17 needs a >= 1369.
    a = na_set(2000)
    assert 1369 <= a < 2054
    assert ext2_parameters(2000, 0.95, tol) == (a, 17)
    # rate_sv = 0.93: c_max = floor(1/0.07) = 14 and c = 14 already works:
    # sqrt(13) * 2^(a/2 * (0.98 - 1)) = 2^(1.85 - 0.01 a) <= 5e-31 for a >= 10251.
    assert ext2_parameters(18_796, 0.93, tol) == (18_786, 14)
    assert ext2_parameters(9_000, 0.93, tol) == (na_set(9_000), 13)
    assert ext2_parameters(18_796, 0.95, tol, trusted_backend=False) == (0, 0)
    assert ext2_parameters(18_796, 0.95, tol, privacy=True) == (0, 0)
    with pytest.raises(ValueError, match="untrusted"):
        ext2_parameters(18_796, 0.95, tol, trusted_backend=False, privacy=True)
    with pytest.raises(ValueError, match="no multiplier"):
        ext2_parameters(60, 0.95, tol)
    with pytest.raises(ValueError, match="rate_sv"):
        ext2_parameters(18_796, 1.0, tol)
    with pytest.raises(ValueError, match="too large"):
        ext2_parameters(5 * 10**8 + 10**6, 0.95, tol)


def test_hayashi_epsilon() -> None:
    assert hayashi_epsilon(100, 2, 0.95) == pytest.approx(2 ** (50 * (0.1 - 1)))
    assert hayashi_epsilon(100, 19, 0.95) == pytest.approx(math.sqrt(18) * 2 ** (-2.5))
    assert hayashi_epsilon(10**7, 40, 0.95) == math.inf  # instead of OverflowError


# --- full parameter computation ------------------------------------------------------------


def test_cqc_extractor_params_hand_checked() -> None:
    """20000 bits, perfect correlator: rate_bt = 1, n = 19997,
    m = floor(19997 * 0.95 + 1 - 2 log2(2e30)) = floor(18998.15 - 201.32) = 18796."""
    raw = RNG.integers(0, 2, 20_000, dtype=np.uint8)
    wsr = RNG.integers(0, 2, 19_997, dtype=np.uint8)
    calls: list[int] = []

    def gen(k: int) -> np.ndarray:
        calls.append(k)
        return wsr

    p = cqc_extractor_params(raw, 4.0, wsr_generator=gen)
    assert calls == [19_997]
    assert (p.ext1_input_num_bits, p.ext1_output_num_bits) == (19_997, 18_796)
    assert (p.ext2_seed_num_bits, p.ext2_wsr_multiplier) == (18_786, 19)
    assert p.ext1_raw_bytes == bits_to_bytes(raw[:19_997])
    assert p.ext1_wsr_bytes == bits_to_bytes(wsr)
    assert len(p.ext1_raw_bytes) == math.ceil(19_997 / 8)
    assert p.ext2_wsr_num_bits == 18_786 * 19
    assert p.ext2_output_num_bits == 18_786 * 18
    assert p.output_num_bits == 18_796 + 18_786 * 18
    assert p.run_args() == (19_997, 18_796, p.ext1_raw_bytes, p.ext1_wsr_bytes, 18_786, 19)
    assert [f.name for f in dataclasses.fields(ExtractorParams)] == [
        "ext1_input_num_bits",
        "ext1_output_num_bits",
        "ext1_raw_bytes",
        "ext1_wsr_bytes",
        "ext2_seed_num_bits",
        "ext2_wsr_multiplier",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.ext1_input_num_bits = 3  # type: ignore[misc]


def test_cqc_extractor_params_options() -> None:
    raw = RNG.integers(0, 2, 1_000_003, dtype=np.uint8)
    p = cqc_extractor_params(raw, 3.2, expected_correlator=3.15)
    assert (p.ext1_input_num_bits, p.ext1_output_num_bits) == (1_000_003, 170_495)
    assert (p.ext2_seed_num_bits, p.ext2_wsr_multiplier) == (170_482, 19)
    assert len(p.ext1_wsr_bytes) == math.ceil(1_000_003 / 8)
    q = cqc_extractor_params(raw, 3.15, trusted_backend=False)
    assert (q.ext2_seed_num_bits, q.ext2_wsr_multiplier) == (0, 0)
    qp = cqc_extractor_params(raw, 3.15, quantum_proof=True)
    assert qp.ext1_output_num_bits < p.ext1_output_num_bits / 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"correlator": 3.0, "expected_correlator": 3.15}, "lower than expected"),
        ({"correlator": 3.15, "privacy": True, "trusted_backend": False}, "untrusted"),
        ({"correlator": 3.15, "epsilon_sec": 0.0}, "epsilon_sec"),
        ({"correlator": 2.0}, "Not enough output"),
        ({"correlator": 5.0}, "correlator"),
        ({"correlator": 3.15, "wsr_generator": lambda k: np.zeros(k - 1, np.uint8)}, "expected"),
    ],
)
def test_cqc_extractor_params_errors(kwargs: dict[str, object], match: str) -> None:
    raw = np.zeros(100_000, dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        cqc_extractor_params(raw, **kwargs)  # type: ignore[arg-type]


def test_cqc_extractor_params_too_few_bits() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        cqc_extractor_params(np.zeros(2, np.uint8), 4.0)


# --- run ------------------------------------------------------------------------------------


def test_run_cqc_extractor_chains_both_stages() -> None:
    raw = RNG.integers(0, 2, 20_000, dtype=np.uint8)
    p = cqc_extractor_params(raw, 4.0)
    wsr2 = RNG.integers(0, 2, p.ext2_wsr_num_bits, dtype=np.uint8)
    out = run_cqc_extractor(p, ext2_wsr=wsr2)
    n, m = p.ext1_input_num_bits, p.ext1_output_num_bits
    ext1 = dodis(raw[:n], bytes_to_bits(p.ext1_wsr_bytes, n), m)
    assert np.array_equal(out[:m], ext1)
    assert np.array_equal(out[m:], hayashi(wsr2, ext1[: p.ext2_seed_num_bits]))
    assert out.size == p.output_num_bits
    assert run_cqc_extractor(p).size == p.output_num_bits
    with pytest.raises(ValueError, match="a\\*c"):
        run_cqc_extractor(p, ext2_wsr=wsr2[:-1])


def test_run_cqc_extractor_without_ext2_and_invalid() -> None:
    x = RNG.integers(0, 2, 101, dtype=np.uint8)
    y = RNG.integers(0, 2, 101, dtype=np.uint8)
    p = ExtractorParams(101, 60, bits_to_bytes(x), bits_to_bytes(y), 0, 0)
    assert np.array_equal(run_cqc_extractor(p), dodis(x, y, 60))
    with pytest.raises(ValueError, match="non-zero"):
        run_cqc_extractor(dataclasses.replace(p, ext1_output_num_bits=0))
    with pytest.raises(ValueError, match="produced only"):
        run_cqc_extractor(dataclasses.replace(p, ext2_seed_num_bits=100, ext2_wsr_multiplier=2))
    with pytest.raises(ValueError, match="holds only"):
        run_cqc_extractor(dataclasses.replace(p, ext1_raw_bytes=b"\x00"))


# --- byte packing -------------------------------------------------------------------------


def old_bitarray_to_bytes(bits: list[int]) -> bytes:
    out = [0] * ((len(bits) + 7) >> 3)
    for i, b in enumerate(bits):
        out[i >> 3] |= b << (i & 7)
    return bytes(out)


def test_packing_matches_the_old_service() -> None:
    assert bits_to_bytes([1, 0, 0, 0, 0, 0, 0, 0, 1]) == b"\x01\x01"
    assert bits_to_bytes([0, 0, 0, 0, 0, 0, 0, 1]) == b"\x80"
    assert bits_to_bytes([]) == b""
    for n in (1, 7, 8, 9, 63, 1000):
        b = RNG.integers(0, 2, n).tolist()
        packed = bits_to_bytes(b)
        assert packed == old_bitarray_to_bytes(b)
        assert bytes_to_bits(packed, n).tolist() == [
            (packed[i >> 3] >> (i & 7)) & 1 for i in range(n)
        ]
        assert bytes_to_bits(packed, n).tolist() == b


def test_bytes_to_bits_and_hex() -> None:
    assert bytes_to_bits(b"\x05\xff", 10).tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 1, 1]
    assert bytes_to_bits(bytearray(b"\x01"), 0).tolist() == []
    assert to_hex([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]) == "0102"
    with pytest.raises(ValueError, match="holds only 8"):
        bytes_to_bits(b"\x00", 9)
    with pytest.raises(ValueError, match=">= 0"):
        bytes_to_bits(b"\x00", -1)
    with pytest.raises(ValueError, match="only 0 and 1"):
        bits_to_bytes([0, 2])
