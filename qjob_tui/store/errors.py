"""The store's one error: what the ui is told when a read it asked for cannot be done.

The store turns the job library's errors (and the wire format's, for a result or circuit that
cannot be decoded) into this at its edge, so the ui needs nothing of ``api/`` or ``wire/``.
"""

from __future__ import annotations


class StoreError(Exception):
    """A read the store could not do; ``str()`` is one line, safe to show.

    ``retryable`` is True when asking again may work (the service did not answer), False when
    the answer came and cannot be read (a malformed result or circuit).
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
