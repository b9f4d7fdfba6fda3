"""Ids of jobs and sessions in the style of IBM Quantum's: a letter, then 19 of ``a-z0-9``.

Each id takes 16 bytes of the system's randomness, read 4 KiB at a time rather than once per
id: reading it releases the GIL, and on a loaded service each release let the database's
thread in ahead of the event loop, which then waited to get it back (about 4 % of the event
loop's time under a flood of submits).
"""

from __future__ import annotations

import os
import string
import threading

ALPHABET = string.ascii_lowercase + string.digits
DIGITS = 19
_SPACE = len(ALPHABET) ** DIGITS  # about 2**98
_BYTES_PER_ID = 16  # 128 bits for 98: the remainder's bias is below 2**-29
_READ = 4096

_lock = threading.Lock()
_pool = bytearray()
_pool_pid = 0  # a forked child must not hand out its parent's ids


def new_id(prefix: str) -> str:
    """``prefix`` and 19 random characters of ``ALPHABET``."""
    global _pool_pid
    with _lock:
        if _pool_pid != os.getpid():
            _pool.clear()
            _pool_pid = os.getpid()
        if len(_pool) < _BYTES_PER_ID:
            _pool.extend(os.urandom(_READ))
        chunk = bytes(_pool[:_BYTES_PER_ID])
        del _pool[:_BYTES_PER_ID]
    number = int.from_bytes(chunk, "big") % _SPACE
    chars = []
    for _ in range(DIGITS):
        number, digit = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return prefix + "".join(chars)
