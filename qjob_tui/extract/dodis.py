"""Stage 1 of the CQC extractor ("ext1"): the Dodis et al. two-source extractor.

For x, y in {0,1}^n with n a prime having 2 as a primitive root, output bit i < m is

    z_i = sum_j x_j * y[(i + j) mod n]   (mod 2),

the inner product of x with y cyclically shifted by i (Dodis, Elbaz, Oliveira, Raz 2004, with
the cyclic-shift matrices of Foreman et al. 2020 used by CQC). Which CQC input played x
(raw bits, here) and which played y (WSR, here) is not documented; swapping them reverses
the shift direction.

How it is computed, and why it is exact
---------------------------------------
z is the parity of an integer cyclic correlation, so we compute the integer correlation
with a float64 FFT and round. n is prime, and a length-n FFT takes numpy's slow
(Bluestein) path, so we extend y cyclically to ``yt = y + y[:m-1]`` and compute the
*linear* correlation ``sum_j x_j yt[i+j]`` for i < m with real FFTs of a 5-smooth length
N >= n + m - 1 (no wrap-around can reach the m outputs read). The two forward transforms
run on two threads, and the inverse is split into its even and odd output samples (two
half-length inverse FFTs, one per thread).

Exactness: let u = 2^-53 and assume each transform's computed output has normwise
relative error <= d = (log2 N + 3) * 8u (Higham, *Accuracy and Stability of Numerical
Algorithms*, thm 24.2 gives log2(N) * (mu + gamma_4 (sqrt 2 + mu)) ~ 7.7u log2 N for
radix-2 with twiddles good to mu <= 2u; the +3 covers the real-data passes, the explicit
split stage and pocketfft's other radices; the tests measure ~2u at N ~ 2^21). With
||X||_2 = sqrt(N) ||x||_2 and ||Y||_inf <= ||y||_1, the computed correlation of 0/1
vectors of lengths Lx <= Ly <= N is off from the integers by at most (2-norm >= inf-norm)

    (3d + 3u) * max(||x||_2 ||y||_1, ||x||_1 ||y||_2) <= (3d + 3u) * sqrt(Lx) * Ly,

which for N <= 2^27 is <= 0.13 < 1/2, so rounding recovers every integer. Longer inputs
are split into blocks of x and of the outputs, each a correlation of length < 2^27, and
the block parities are XORed: exact for any n. As defence in depth every call checks
that all values were within 0.25 of an integer and raises ArithmeticError otherwise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bits import as_bits
from .parallel import PARALLEL_MIN_LEN, run_pair
from .primes import has_primitive_root_2

__all__ = ["dodis"]

_T = TypeVar("_T")
_A = TypeVar("_A", bound=np.generic)

MAX_FFT_LEN = 2**27
"""Longest transform used in one piece; the error bound above is proven up to here."""

_TWIDDLE_CACHE_MAX_LEN = 2**23
"""Longest transform whose twiddles (N/4 complex numbers) are kept between calls."""

_CPUS = os.cpu_count() or 1
_LOW_BYTE = 0 if sys.byteorder == "little" else 7
_GUARD = 0.25


@lru_cache(maxsize=256)
def _fft_len(n: int) -> int:
    """Smallest N >= n with N = 4 * 2^a 3^b 5^c: fast for pocketfft and splittable in 4."""
    target = max(1, -(-n // 4))
    best = 1 << (target - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            v = p35
            while v < target:
                v *= 2
            best = min(best, v)
            p35 *= 3
        p5 *= 5
    return 4 * best


def _make_twiddles(n_fft: int) -> NDArray[np.complex128]:
    """exp(2 pi i k / N) for k = 0..N/4, from two short tables (one product per entry).

    Each entry is within ~3u of exact, inside the FFT error budget, and costs a complex
    multiply instead of a complex exponential.
    """
    k_len = n_fft // 4 + 1
    t = 1 << max(0, (k_len.bit_length() + 1) // 2)
    lo = np.exp((2j * np.pi / n_fft) * np.arange(t))
    hi = np.exp((2j * np.pi / n_fft) * np.arange(0, k_len + t, t))
    return (hi[:, None] * lo[None, :]).reshape(-1)[:k_len]


@lru_cache(maxsize=4)
def _cached_twiddles(n_fft: int) -> NDArray[np.complex128]:
    """Read-only cached twiddles: ext2 reuses one length for all its products."""
    tw = _make_twiddles(n_fft)
    tw.flags.writeable = False
    return tw


def _twiddles(n_fft: int) -> NDArray[np.complex128]:
    """Twiddles for the split inverse, cached only up to 32 MB so memory is not pinned."""
    return _cached_twiddles(n_fft) if n_fft <= _TWIDDLE_CACHE_MAX_LEN else _make_twiddles(n_fft)


def _parity(
    values: NDArray[np.float64], scale: int, work: NDArray[np.float64] | None = None
) -> NDArray[np.uint8]:
    """Parity of round(values / scale), scale 1 or 2, checking values are near multiples.

    Adding 2^52 * scale moves every value into the binade where the float spacing is
    ``scale``, so the FPU rounds to the nearest multiple and the lowest mantissa bit is
    the parity we want (values are far below 2^51). ``work`` (same length) avoids a
    fresh allocation.
    """
    magic = float(2**52 * scale)
    shifted = np.add(values, magic, out=work)
    bits = np.bitwise_and(shifted.view(np.uint8)[_LOW_BYTE::8], 1)
    err = np.subtract(shifted, magic, out=shifted)
    np.subtract(err, values, out=err)
    worst = float(np.abs(err, out=err).max(initial=0.0))
    if not worst <= _GUARD * scale:  # also catches NaN
        raise ArithmeticError(
            f"FFT correlation is {worst / scale:.3g} away from an integer; result not exact"
        )
    return bits


def _inverse_halves(
    spec: NDArray[np.complex128],
    n_fft: int,
    m: int,
    parallel: bool,
    finish: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[_A]],
    dtype: type[_A],
) -> NDArray[_A]:
    """First m samples of irfft(spec, N), computed as two half-length inverses (spec is reused).

    With Z = spec (Hermitian), M = N/2: the even samples have spectrum (Z_k + Z_{k+M})/2 and
    the odd ones (Z_k - Z_{k+M}) e^{2 pi i k/N}/2, where Z_{k+M} = conj(Z_{M-k}). The /2 is
    skipped: ``finish(values, work)`` receives twice the sample values and a scratch array.
    Two length-N/2 transforms are cheaper than one of length N here (cache), and they can
    run on two threads. Big buffers are allocated in the calling thread: memory freed by
    worker threads goes back to the OS and costs page faults on every call.
    """
    half = n_fft // 2
    quarter = half // 2
    tail = np.conj(spec[quarter : half + 1][::-1])
    even_spec = np.add(spec[: quarter + 1], tail, out=spec[: quarter + 1])  # in place: less memory
    tail *= -2.0
    odd_spec = np.add(tail, even_spec, out=tail)  # (head + tail) - 2 tail = head - tail
    odd_spec *= _twiddles(n_fft)
    out = np.empty(m, dtype=dtype)
    m_even, m_odd = (m + 1) // 2, m // 2
    even_buf, odd_buf = np.empty(half), np.empty(half)
    even_work, odd_work = np.empty(m_even), np.empty(m_odd)

    def even() -> NDArray[_A]:
        np.fft.irfft(even_spec, half, out=even_buf)
        return finish(even_buf[:m_even], even_work)

    def odd() -> NDArray[_A]:
        np.fft.irfft(odd_spec, half, out=odd_buf)
        return finish(odd_buf[:m_odd], odd_work)

    out[0::2], out[1::2] = run_pair(even, odd, parallel)
    return out


def _inverse_parity(
    spec: NDArray[np.complex128], n_fft: int, m: int, parallel: bool
) -> NDArray[np.uint8]:
    """Parity of the rounded first m samples of irfft(spec, N)."""
    return _inverse_halves(spec, n_fft, m, parallel, lambda v, w: _parity(v, 2, w), np.uint8)


def _forward_product(
    x: NDArray[np.uint8], yt: NDArray[np.uint8], n_fft: int, parallel: bool
) -> NDArray[np.complex128]:
    """conj(rfft(x)) * rfft(yt), the spectrum of the linear correlation of x and yt."""
    xf, yf = x.astype(np.float64), yt.astype(np.float64)
    xs = np.empty(n_fft // 2 + 1, dtype=np.complex128)
    ys = np.empty_like(xs)
    run_pair(
        lambda: np.fft.rfft(xf, n_fft, out=xs), lambda: np.fft.rfft(yf, n_fft, out=ys), parallel
    )
    np.conj(xs, out=xs)
    xs *= ys
    return xs


def _cyclic_corr_values(x: NDArray[np.uint8], y: NDArray[np.uint8], m: int) -> NDArray[np.float64]:
    """Unrounded integer correlation sum_j x_j y[(i+j) mod n], i < m (to test exactness).

    Same transforms as ``dodis`` (one FFT, no blocking) up to the final rounding.
    """
    yt = np.concatenate([y, y[: m - 1]])
    n_fft = _fft_len(len(yt))
    spec = _forward_product(x, yt, n_fft, parallel=False)
    return _inverse_halves(
        spec, n_fft, m, False, lambda v, w: np.multiply(v, 0.5, out=w), np.float64
    )


def _lin_corr_direct(
    x: NDArray[np.uint8], yt: NDArray[np.uint8], m: int, parallel: bool
) -> NDArray[np.uint8]:
    """Parity of sum_j x_j yt[i+j] for i < m in one FFT (needs len(yt) >= len(x) + m - 1)."""
    n_fft = _fft_len(len(yt))
    parallel = parallel and _CPUS > 1 and n_fft >= PARALLEL_MIN_LEN
    return _inverse_parity(_forward_product(x, yt, n_fft, parallel), n_fft, m, parallel)


def _lin_corr_parity(
    x: NDArray[np.uint8], yt: NDArray[np.uint8], m: int, parallel: bool = True
) -> NDArray[np.uint8]:
    """Linear correlation parity, in blocks of x and of outputs when too long for one FFT."""
    if len(yt) <= MAX_FFT_LEN:
        return _lin_corr_direct(x, yt, m, parallel)
    block = MAX_FFT_LEN // 2
    out = np.zeros(m, dtype=np.uint8)
    for o in range(0, m, block):
        mb = min(block, m - o)
        for s in range(0, len(x), block):
            xb = x[s : s + block]
            yb = yt[o + s : o + s + len(xb) + mb - 1]
            out[o : o + mb] ^= _lin_corr_direct(xb, yb, mb, parallel)
    return out


def cyclic_corr_parity(
    x: NDArray[np.uint8], y: NDArray[np.uint8], m: int, parallel: bool = True
) -> NDArray[np.uint8]:
    """z_i = sum_j x_j y[(i+j) mod n] mod 2 for i < m, for any n and unchecked 0/1 arrays."""
    yt = np.concatenate([y, y[: m - 1]])
    return _lin_corr_parity(x, yt, m, parallel)


class CyclicCorrelator:
    """Cyclic correlation parity against a fixed x, caching x's spectrum.

    ext2 multiplies many vectors by the same seed power; this saves one FFT per product.
    """

    def __init__(self, x: NDArray[np.uint8], m: int) -> None:
        """Prepare conj(rfft(x)) for outputs 0..m-1 (len(y) must equal len(x) later)."""
        self._x, self._m = x, m
        self._n_fft = _fft_len(len(x) + m - 1)
        self._spec: NDArray[np.complex128] | None = None
        if self._n_fft <= MAX_FFT_LEN:
            self._spec = np.conj(np.fft.rfft(x, self._n_fft))

    def __call__(self, y: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """Parity of the correlation of the cached x with y, single-threaded."""
        m = self._m
        if self._spec is None:
            return cyclic_corr_parity(self._x, y, m, parallel=False)
        yt = np.concatenate([y, y[: m - 1]])
        spec = np.fft.rfft(yt, self._n_fft)
        spec *= self._spec
        return _inverse_parity(spec, self._n_fft, m, parallel=False)


def dodis(x: ArrayLike, y: ArrayLike, m: int) -> NDArray[np.uint8]:
    """Dodis et al. extractor: m bits z_i = <x, y cyclically shifted by i> mod 2.

    x and y are n bits each (uint8/bool/int 0/1), n a prime with 2 as a primitive root,
    1 <= m <= n. Raises ValueError naming the rule broken.
    """
    xb = as_bits(x, "x")
    yb = as_bits(y, "y")
    n = xb.size
    if yb.size != n:
        raise ValueError(f"x and y must have the same length n, got {n} and {yb.size}")
    if not has_primitive_root_2(n):
        raise ValueError(
            f"n={n} must be a prime with 2 as a primitive root (3, 5, 11, 13, 19, 29, ...); "
            "na_set(n - 1) + 1 gives the largest valid length <= n"
        )
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
        raise ValueError(f"m must be an integer, got {m!r}")
    m = int(m)
    if not 1 <= m <= n:
        raise ValueError(f"m must satisfy 1 <= m <= n={n}, got m={m}")
    return cyclic_corr_parity(xb, yb, m)
