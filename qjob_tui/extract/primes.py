"""The number theory of both extractors: primes p for which 2 generates the group mod p."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["check_int", "has_primitive_root_2", "is_prime", "na_set"]

_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def check_int(value: object, name: str) -> int:
    """Accept Python/numpy integers but not bools or floats, so typos fail loudly."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin (exact for n < 3.3e24, far beyond any bit count here)."""
    n = check_int(n, "n")
    if n < 2:
        return False
    for p in _MR_BASES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _distinct_prime_factors(k: int) -> list[int]:
    """Trial division; k <= ~5e8 here, so at most ~22000 steps."""
    factors: list[int] = []
    q = 2
    while q * q <= k:
        if k % q == 0:
            factors.append(q)
            while k % q == 0:
                k //= q
        q += 1 if q == 2 else 2
    if k > 1:
        factors.append(k)
    return factors


@lru_cache(maxsize=256)
def has_primitive_root_2(p: int) -> bool:
    """True iff p is an odd prime and 2 generates the multiplicative group mod p.

    This is the condition of both extractors: it makes the Dodis cyclic-shift matrices
    good and makes 1 + x + ... + x^(p-1) irreducible over GF(2).
    """
    p = check_int(p, "p")
    if p < 3 or not is_prime(p):
        return False
    return all(pow(2, (p - 1) // q, p) != 1 for q in _distinct_prime_factors(p - 1))


def na_set(k: int) -> int:
    """Largest even k' <= k such that k'+1 is a prime with 2 as a primitive root.

    Same result as ``qiskit_rng.utils.na_set`` for every k >= 2 (its trial-division loop is
    replaced by Miller-Rabin). ``na_set(k) + 1`` is a valid ext1 length and ``na_set(k)`` a
    valid ext2 seed length.
    """
    k = check_int(k, "k")
    if k < 2:
        raise ValueError(f"na_set needs k >= 2 (the smallest member is 2, as 3 is prime), got {k}")
    k -= k % 2
    while not has_primitive_root_2(k + 1):
        k -= 2
    return k
