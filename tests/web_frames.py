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


class WebDashboard:
    """A browser tab without a browser: the relay's websocket, its frames on a pyte screen."""

    def __init__(
        self,
        root: str,
        headers: dict[str, str] | None = None,
        width: int = 120,
        height: int = 40,
        origin: str | None = "same",
    ) -> None:
        from websockets.sync.client import connect

        host = root.split("://", 1)[1]
        sent = dict(headers or {})
        if origin == "same":
            sent["Origin"] = root
        elif origin is not None:
            sent["Origin"] = origin
        self.screen = Screen(width, height)
        self.texts: list[str] = []
        self.closed = threading.Event()
        self._connection = connect(
            f"ws://{host}/ws?width={width}&height={height}",
            additional_headers=sent,
            open_timeout=30,
            proxy=None,
        )
        self.ws = self._connection.__enter__()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for message in self.ws:
                if isinstance(message, bytes):
                    self.screen.feed(message)
                else:
                    self.texts.append(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def keys(self, text: str) -> None:
        self.ws.send(json.dumps(["stdin", text]))

    def wait_for(self, condition: Callable[[str], bool], timeout: float = 60.0) -> str:
        return self.screen.wait_for(condition, timeout)

    def close(self) -> None:
        self._connection.__exit__(None, None, None)
        self._thread.join(timeout=10)


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (a relay's dashboards)."""
    import os
    from pathlib import Path

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(entry))
    return found


def wait_no_children(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while children(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not children(pid), children(pid)


def row_of(screen: str, job_id: str) -> str:
    """The job list's row of a job (the first line that shows its id), or ''."""
    return next((line for line in screen.splitlines() if job_id in line), "")


def footer(screen: str) -> str:
    return screen.rstrip().splitlines()[-1] if screen.strip() else ""
