"""The app tests' guard against blocking calls on the loop can fail, and only when it should."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

import pytest

from tests.conftest import _GC_PAUSES, FAIL_CALLBACK_SECONDS, _SlowCallbacks


def _spin(seconds: float) -> None:
    """Hold the loop with CPU work, as a decode or a drawing on the loop would."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def _collecting(seconds: float) -> None:
    """Hold the loop as a full garbage collection would (gc calls its callbacks around one)."""
    _GC_PAUSES("start", {"generation": 2})
    _spin(seconds)
    _GC_PAUSES("stop", {"generation": 2})


async def _run_one(
    seconds: float, monkeypatch: pytest.MonkeyPatch, hold: Callable[[float], None] = _spin
) -> list[str]:
    slow = _SlowCallbacks()
    slow.install(monkeypatch)
    slow.armed = True
    done = asyncio.Event()
    asyncio.get_running_loop().call_soon(lambda: (hold(seconds), done.set()))
    await done.wait()
    slow.armed = False
    return slow.reports


async def test_a_blocking_callback_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    reports = await _run_one(FAIL_CALLBACK_SECONDS + 0.2, monkeypatch)
    assert len(reports) == 1 and "s of CPU" in reports[0]


async def test_a_short_callback_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _run_one(0.01, monkeypatch) == []


async def test_a_garbage_collection_inside_a_callback_is_not_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await _run_one(FAIL_CALLBACK_SECONDS + 0.2, monkeypatch, _collecting) == []
    # and the collector's own callback is installed, for the collections it really makes
    assert _GC_PAUSES in gc.callbacks
