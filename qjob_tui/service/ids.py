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


def _forget_in_child() -> None:
    """A forked child must not hand out its parent's ids, nor wait on a lock held at the fork."""
    global _lock
    _lock = threading.Lock()
    _pool.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def new_id(prefix: str) -> str:
    """``prefix`` and 19 random characters of ``ALPHABET``."""
    with _lock:
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
