"""Read what a dashboard under Textual's web driver writes, and what a browser is sent.

Textual's ``WebDriver`` writes ``__GANGLION__\\n`` and then packets: one type byte (``D`` terminal
data, ``M`` JSON meta, ``P`` packed), a 4-byte big-endian length, the payload. The terminal bytes
are fed to pyte, so a test reads the screen as a person would see it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import IO

import pyte

PRELUDE = b"__GANGLION__\n"


def packet(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


def meta(body: dict[str, object]) -> bytes:
    return packet(b"M", json.dumps(body).encode())


class Screen:
    """A pyte screen fed from any thread; ``wait_for`` polls it for an exact condition."""

    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.metas: list[dict[str, object]] = []
        self.bytes = 0

    def feed(self, data: bytes) -> None:
        with self.lock:
            self.bytes += len(data)
            self.stream.feed(data)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def wait_for(self, condition: Callable[[str], bool], timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if condition(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen after {timeout} s:\n{text}")
            time.sleep(0.05)


def pump_packets(stdout: IO[bytes], screen: Screen) -> threading.Thread:
    """Read a web-driver dashboard's stdout into ``screen`` until it closes (a thread)."""

    def run() -> None:
        line = stdout.readline()
        assert line == PRELUDE, line
        while True:
            head = stdout.read(5)
            if len(head) < 5:
                return
            size = int.from_bytes(head[1:], "big")
            payload = stdout.read(size)
            if head[:1] == b"D":
                screen.feed(payload)
            elif head[:1] == b"M":
                screen.metas.append(json.loads(payload))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
