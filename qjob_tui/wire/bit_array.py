"""qiskit's ``BitArray`` on the wire: packed uint8 arrays ``(..., shots, ceil(bits / 8))``.

BitArray packs big-endian: the last byte of a shot holds a register's bits 0..7, padding sits
in the first. These functions write, read and unpack that form with numpy alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qjob_tui.text import one_line
from qjob_tui.wire.envelope import decode_ndarray, encode_ndarray, typed, value_of
from qjob_tui.wire.errors import Part, ResultDecodeError


def pack_register(bits: np.ndarray, columns: Sequence[int]) -> np.ndarray:
    """Pack a register's bits as qiskit's ``BitArray`` does.

    ``bits`` has shape ``(..., shots, num_clbits)`` with column k holding clbit k; ``columns``
    lists the register's clbits, lowest first. The result is uint8 ``(..., shots, ceil(n/8))``.
    """
    width = len(columns)
    msb_first = bits[..., list(columns)][..., ::-1]
    padding = (-width) % 8
    if padding:
        zeros = np.zeros((*msb_first.shape[:-1], padding), dtype=bool)
        msb_first = np.concatenate([zeros, msb_first], axis=-1)
    return np.packbits(msb_first, axis=-1, bitorder="big")


def encode_bit_array(packed: np.ndarray, num_bits: int) -> dict[str, Any]:
    """A packed uint8 array as RuntimeEncoder writes a BitArray."""
    return typed("BitArray", {"array": encode_ndarray(packed), "num_bits": num_bits})


def decode_bit_array(
    node: object, where: str, shape: tuple[int, ...] | None = None
) -> tuple[np.ndarray, int]:
    """A BitArray's packed uint8 array and its number of bits, checked against ``shape``.

    ``shape`` is what the enclosing DataBin declares; the array must lead with it.
    """
    payload = value_of(node, "BitArray", where=where)
    if not isinstance(payload, dict):
        raise ResultDecodeError(f"{where} is not an object")
    num_bits = payload.get("num_bits")
    if isinstance(num_bits, bool) or not isinstance(num_bits, int) or num_bits < 0:
        raise ResultDecodeError(f"{where} has a bad num_bits")
    array = decode_ndarray(
        value_of(payload.get("array"), "ndarray", where=where), "bit array", where, Part.RESULT
    )
    if array.dtype != np.uint8:
        if array.dtype.kind not in "iu" or (array.size and (array.min() < 0 or array.max() > 255)):
            raise ResultDecodeError(f"{where} is not uint8 data")
        array = array.astype(np.uint8)
    num_bytes = (num_bits + 7) // 8
    lead = shape or ()
    if array.ndim < 2 or array.shape[-1] != num_bytes or array.shape[: len(lead)] != lead:
        expected = (*lead, "...", "shots", num_bytes)
        raise ResultDecodeError(f"{where} has shape {array.shape}, expected {expected}")
    return array, num_bits


def counts_and_bitstrings(array: np.ndarray, num_bits: int) -> tuple[dict[str, int], list[str]]:
    """Counts and per-shot bitstrings, MSB first, exactly as ``BitArray.get_counts`` keys them."""
    rows = array.reshape(-1, array.shape[-1])
    if rows.shape[0] == 0:
        return {}, []
    if rows.shape[1] == 0:
        labels = [bin(0)[2:].zfill(num_bits)]
        inverse = np.zeros(rows.shape[0], dtype=np.intp)
    else:
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        mask = (1 << num_bits) - 1
        labels = [
            bin(int.from_bytes(row.tobytes(), "big") & mask)[2:].zfill(num_bits) for row in unique
        ]
    inverse = np.asarray(inverse).reshape(-1)
    counts: dict[str, int] = {}
    for label, count in zip(labels, np.bincount(inverse, minlength=len(labels)), strict=True):
        if count:
            counts[label] = counts.get(label, 0) + int(count)
    return counts, [labels[i] for i in inverse]


def unpack_bits(array: np.ndarray, num_bits: int, limit: int) -> np.ndarray:
    """At most ``limit`` bits of a packed BitArray, per shot register bit 0 first.

    The unpacked row is reversed to put bit 0 first; only the whole rows that ``limit`` needs
    are unpacked, not the whole array.
    """
    rows = array.reshape(-1, array.shape[-1])
    rows = rows[: -(-limit // max(num_bits, 1))]
    unpacked = np.unpackbits(rows, axis=1, bitorder="big")[:, ::-1][:, :num_bits]
    return np.ascontiguousarray(unpacked).reshape(-1)[:limit]


def register_label(name: object) -> str:
    """A register's name as error messages show it."""
    return f"BitArray {one_line(name, 40)}"
