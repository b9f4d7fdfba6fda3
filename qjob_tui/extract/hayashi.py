"""Stage 2 of the CQC extractor ("ext2"): Hayashi-Tsurumaru dual universal hashing.

The input x (c*a bits) is split into blocks x_1..x_c of a bits and, with the seed r (a bits),

    h_r(x) = (x_1 + r x_c, x_2 + r^2 x_c, ..., x_{c-1} + r^{c-1} x_c)      ((c-1)*a bits)

in GF(2^a) = GF(2)[t] / (1 + t + ... + t^a), a field because a+1 is a prime with 2 as a
primitive root. Bit order: block k is x[(k-1)*a : k*a], bit i of a block (and of r and of
each output block) is the coefficient of t^i. The retired service's exact variant is not
documented; this one has the parameters and the error bound qiskit_rng used
(delta = c-1 dual universal, see tests).

Arithmetic: with p = a+1, (t-1)(1 + ... + t^a) = t^p - 1, so we compute in the ring
GF(2)[t]/(t^p - 1), where a product is a cyclic convolution of length p done exactly by
the FFT engine of ``dodis`` (cyclic convolution with u = cyclic correlation with u
reflected). Only the output is reduced to the field: a length-p vector whose t^a
coefficient is 1 gets the all-one polynomial added, i.e. all its bits flipped. In this
ring squaring is a permutation (i -> 2i mod p), so r^2 is free and the c-1 products run
as two chains on two threads: r x_c, r^3 x_c, ... and r^2 x_c, r^4 x_c, ...
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bits import as_bits
from .dodis import CyclicCorrelator
from .parallel import PARALLEL_MIN_LEN, run_pair
from .primes import has_primitive_root_2

__all__ = ["hayashi"]


def _reflect(u: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """u[(-j) mod p]: turns a cyclic convolution by u into a cyclic correlation."""
    return np.concatenate([u[:1], u[:0:-1]])


def _square(u: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """u^2 in GF(2)[t]/(t^p - 1): coefficient i moves to 2i mod p (Frobenius)."""
    p = u.size
    out = np.zeros(p, dtype=np.uint8)
    out[(2 * np.arange(p)) % p] = u
    return out


def hayashi(x: ArrayLike, seed: ArrayLike) -> NDArray[np.uint8]:
    """Hash c*a input bits with an a-bit seed to (c-1)*a bits (see the module docstring).

    a = len(seed) must have a+1 prime with 2 as a primitive root (2, 4, 10, 12, 18, ...),
    len(x) = c*a with c >= 2. Raises ValueError naming the rule broken.
    """
    r = as_bits(seed, "seed")
    xb = as_bits(x, "x")
    a = r.size
    if not has_primitive_root_2(a + 1):
        raise ValueError(
            f"seed length a={a} must have a+1 prime with 2 as a primitive root "
            "(a = 2, 4, 10, 12, 18, 28, ...); na_set(a) gives the largest valid a"
        )
    if xb.size % a != 0 or xb.size // a < 2:
        raise ValueError(
            f"len(x)={xb.size} must be a multiple c*a of the seed length a={a} with c >= 2"
        )
    c = xb.size // a
    p = a + 1
    blocks = xb.reshape(c, a)
    r_ring = np.zeros(p, dtype=np.uint8)
    r_ring[:a] = r
    last = np.zeros(p, dtype=np.uint8)
    last[:a] = blocks[-1]

    out = np.empty((c - 1, a), dtype=np.uint8)
    times_r2 = CyclicCorrelator(_reflect(_square(r_ring)), p)

    def emit(k: int, v: NDArray[np.uint8]) -> None:
        """Row k-1 = x_k + r^k x_c, reduced to degree < a by adding the all-one polynomial."""
        row = np.bitwise_xor(v[:a], blocks[k - 1], out=out[k - 1])
        if v[a]:
            row ^= 1

    def chain(first: CyclicCorrelator, k0: int) -> None:
        """Emit r^k x_c for k = k0, k0+2, ... < c: one product per output block."""
        v = first(last)
        emit(k0, v)
        for k in range(k0 + 2, c, 2):
            v = times_r2(v)
            emit(k, v)

    times_r = CyclicCorrelator(_reflect(r_ring), p)
    if c == 2:
        chain(times_r, 1)
    else:
        parallel = (os.cpu_count() or 1) > 1 and 2 * p >= PARALLEL_MIN_LEN
        run_pair(lambda: chain(times_r, 1), lambda: chain(times_r2, 2), parallel)
    return out.reshape(-1)
