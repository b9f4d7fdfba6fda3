"""Two numpy computations at once: its FFTs release the GIL, so a second thread pays off."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["PARALLEL_MIN_LEN", "run_pair"]

_T = TypeVar("_T")

PARALLEL_MIN_LEN = 2**16
"""Below this length a second thread costs more than it saves."""


def run_pair(f: Callable[[], _T], g: Callable[[], _T], parallel: bool) -> tuple[_T, _T]:
    """Run f and g, on two threads if asked (numpy's FFT releases the GIL)."""
    if not parallel:
        return f(), g()
    box: dict[str, _T | BaseException] = {}

    def run() -> None:
        try:
            box["f"] = f()
        except BaseException as exc:  # re-raised in the caller's thread
            box["e"] = exc

    thread = threading.Thread(target=run, name="qjob-extract-fft")
    thread.start()
    try:
        b = g()
    finally:
        thread.join()
    if "e" in box:
        raise box["e"]  # type: ignore[misc]
    return box["f"], b  # type: ignore[return-value]
