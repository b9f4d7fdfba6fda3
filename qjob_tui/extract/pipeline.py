"""The two stages chained, as the retired ``CQCExtractor.run`` chained them."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bits import as_bits, bytes_to_bits
from .dodis import dodis
from .hayashi import hayashi
from .params import ExtractorParams, WsrGenerator, wsr_bits

__all__ = ["run_cqc_extractor"]


def run_cqc_extractor(
    params: ExtractorParams,
    ext2_wsr: ArrayLike | None = None,
    wsr_generator: WsrGenerator | None = None,
) -> NDArray[np.uint8]:
    """Local replacement for ``CQCExtractor.run``: ext1 output, then ext2 output if enabled.

    The ext2 seed is the start of the ext1 output, as in the old service client. ``ext2_wsr``
    (a * c bits) wins over ``wsr_generator``; with neither, numpy's generator is used.
    """
    n, m1 = params.ext1_input_num_bits, params.ext1_output_num_bits
    if n == 0 or m1 == 0:
        raise ValueError("ext1_input_num_bits and ext1_output_num_bits must both be non-zero")
    x = bytes_to_bits(params.ext1_raw_bytes, n)
    y = bytes_to_bits(params.ext1_wsr_bytes, n)
    out1 = dodis(x, y, m1)
    a, c = params.ext2_seed_num_bits, params.ext2_wsr_multiplier
    if c == 0:
        return out1
    if a == 0:
        raise ValueError("ext2_seed_num_bits must be non-zero when ext2_wsr_multiplier is set")
    if a > m1:
        raise ValueError(f"ext2 seed needs a={a} bits but ext1 produced only {m1}")
    if ext2_wsr is not None:
        wsr2 = as_bits(ext2_wsr, "ext2_wsr")
        if wsr2.size != a * c:
            raise ValueError(f"ext2_wsr must hold a*c = {a * c} bits, got {wsr2.size}")
    else:
        wsr2 = wsr_bits(wsr_generator, a * c, "ext2 WSR")
    out2 = hayashi(wsr2, out1[:a])
    return np.concatenate([out1, out2])
