"""Bit arrays and the byte packing of the retired IBM Quantum CQC extractor service.

The service (and ``qiskit_rng``) packed bit ``i`` into byte ``i >> 3`` at bit position
``i & 7``, i.e. least significant bit first inside each byte. Keeping that exact layout
lets saved ``ext1_raw_bytes``/``ext1_wsr_bytes`` payloads be read back unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_bits", "bits_to_bytes", "bytes_to_bits", "to_hex"]


def as_bits(bits: ArrayLike, name: str = "bits") -> NDArray[np.uint8]:
    """Return ``bits`` as a 1-D uint8 array of 0/1, or raise ValueError naming the rule broken.

    Only bool and integer dtypes are accepted: a float 0.9999 silently truncated to 0
    would corrupt extractor input without anyone noticing.
    """
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of bits, got shape {arr.shape}")
    if arr.size == 0:  # np.asarray([]) is float64; an empty list is still valid bits
        return np.zeros(0, dtype=np.uint8)
    if arr.dtype == np.bool_:
        return arr.view(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must have a bool or integer dtype, got {arr.dtype}")
    lo = 0 if np.issubdtype(arr.dtype, np.unsignedinteger) else int(arr.min())
    hi = int(arr.max())
    if lo < 0 or hi > 1:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name} must contain only 0 and 1, found {bad}")
    return arr if arr.dtype == np.uint8 else arr.astype(np.uint8)


def bits_to_bytes(bits: ArrayLike) -> bytes:
    """Pack bits LSB first in each byte, as ``int_array[i >> 3] |= bit[i] << (i & 7)`` did.

    The last byte is zero-padded in its high bits, so ``len(result) == ceil(len(bits) / 8)``.
    """
    arr = as_bits(bits)
    return np.packbits(arr, bitorder="little").tobytes()


def bytes_to_bits(data: bytes | bytearray | memoryview, n: int) -> NDArray[np.uint8]:
    """Unpack the first ``n`` bits, as ``[(b[i >> 3] >> (i & 7)) & 1 for i in range(n)]`` did.

    Asking for more bits than ``data`` holds is an error here (the old list comprehension
    raised IndexError), because padding with zeros would fabricate randomness.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n must be an integer number of bits, got {n!r}")
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if n > 8 * buf.size:
        raise ValueError(f"n={n} bits requested but data holds only {8 * buf.size} bits")
    return np.unpackbits(buf, count=n, bitorder="little")


def to_hex(bits: ArrayLike) -> str:
    """Hex string of ``bits_to_bytes(bits)``, a compact way to show extracted bits in a table.

    Two hex digits per byte in byte order; within a byte the first bit is the least
    significant one, so bits ``1,0,0,0,0,0,0,0`` print as ``"01"``.
    """
    return bits_to_bytes(bits).hex()
