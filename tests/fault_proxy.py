"""A seeded fault-injecting HTTP proxy on loopback, for convergence tests and ``make soak``.

It stands between a client and a real job service and, for a seeded share of the requests,
answers with what a flaky network or an overloaded API gives: 503, 429 with Retry-After, slow
answers, bodies cut short, malformed JSON, a 500 with an HTML page, a connection reset. The
faults are bounded: at most ``max_faults`` of them and none after ``until`` (loop time), and
``faulting`` switches them off at once. ``retarget`` points it at another upstream, as a
restarted service on the same port would be.

It runs its own event loop in a thread, so sync tests, async tests and subprocesses (the CLI,
the dashboard in tmux) can all go through it. ``python -m tests.fault_proxy`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

FAULTS = ("503", "429", "delay", "truncated", "malformed", "html500", "reset")
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}
)
_HTML = b"<html><head><title>500 Internal Server Error</title></head><body>oops</body></html>"


@dataclass
class FaultStats:
    """What the proxy did: requests seen, faults injected by kind."""

    requests: int = 0
    forwarded: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def faulted(self) -> int:
        return sum(self.faults.values())


class FaultProxy:
    """``http://127.0.0.1:<port>`` forwarding to ``upstream`` with seeded faults."""

    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 9,
        rate: float = 0.3,
        kinds: tuple[str, ...] = FAULTS,
        delay: tuple[float, float] = (1.0, 10.0),
        retry_after: tuple[int, int] = (1, 3),
        max_faults: int = 10_000,
        duration: float | None = None,
        port: int = 0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.rng = random.Random(seed)
        self.rate = rate
        self.kinds = kinds
        self.delay = delay
        self.retry_after = retry_after
        self.max_faults = max_faults
        self.duration = duration
        self.faulting = True
        self.stats = FaultStats()
        self._port = port
        self._until: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._http: httpx.AsyncClient | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    # --- life cycle ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"{self.root}/api/v1"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._server is not None:
            loop.call_soon_threadsafe(self._server.close)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def retarget(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")

    def calm(self) -> None:
        """No more faults from now on."""
        self.faulting = False

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self._port)
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        if self.duration is not None:
            self._until = loop.time() + self.duration
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(self._http.aclose())
            loop.close()

    # --- hooks for a proxy that watches the requests -----------------------------------------

    async def forwarding(self, target: str) -> None:
        """A request is about to go upstream (on the proxy's loop)."""

    def answered(self, target: str) -> None:
        """Upstream answered that request, or failed to."""

    # --- one connection --------------------------------------------------------------------

    def _pick(self) -> str | None:
        """The fault for the next request, or None: seeded, bounded in count and time."""
        with self._lock:
            self.stats.requests += 1
            if not self.faulting or self.stats.faulted >= self.max_faults:
                return None
            loop = self._loop
            if self._until is not None and loop is not None and loop.time() > self._until:
                return None
            if self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(self.kinds)
            self.stats.faults[kind] += 1
            return kind

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # the proxy stops
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is to end."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: list[tuple[str, str]] = []
        length = 0
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            value = value.strip()
            if name.lower() == "content-length":
                length = int(value)
            if name.lower() not in _HOP and name.lower() != "host":
                headers.append((name, value))
        body = await reader.readexactly(length) if length else b""
        fault = self._pick()
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault == "503":
            await _answer(writer, 503, b'{"errors":[{"message":"Service Unavailable"}]}')
            return True
        if fault == "429":
            wait = self.rng.randint(*self.retry_after)
            await _answer(
                writer,
                429,
                b'{"errors":[{"message":"Too many requests"}]}',
                [("Retry-After", str(wait))],
            )
            return True
        if fault == "html500":
            await _answer(writer, 500, _HTML, content_type="text/html")
            return True
        if fault == "delay":
            await asyncio.sleep(self.rng.uniform(*self.delay))
        assert self._http is not None
        await self.forwarding(target)
        try:
            response = await self._http.request(
                method, self.upstream + target, content=body, headers=headers
            )
        except httpx.HTTPError:
            writer.transport.abort()
            return False
        finally:
            self.answered(target)
        with self._lock:
            self.stats.forwarded += 1
        content = response.content
        extra = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP]
        if fault == "truncated" and len(content) > 1:
            # Headers promise the whole body; half of it comes, then the connection ends.
            await _answer(
                writer, response.status_code, content, extra, send=content[: len(content) // 2]
            )
            writer.transport.abort()
            return False
        if fault == "malformed" and content:
            content = content[: max(len(content) // 2, 1)] + b"}}]{"
        await _answer(writer, response.status_code, content, extra, content_type=None)
        return True


async def _answer(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
    *,
    content_type: str | None = "application/json",
    send: bytes | None = None,
) -> None:
    lines = [f"HTTP/1.1 {status} X"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{k}: {v}" for k, v in headers or ()]
    lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    writer.write(body if send is None else send)
    await writer.drain()


def main() -> None:
    parser = argparse.ArgumentParser(description="a seeded fault-injecting proxy on loopback")
    parser.add_argument("upstream", help="e.g. http://127.0.0.1:8765")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--duration", type=float, default=300.0)
    args = parser.parse_args()
    proxy = FaultProxy(
        args.upstream, seed=args.seed, rate=args.rate, duration=args.duration, port=args.port
    ).start()
    print(proxy.root, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
        print(f"requests {proxy.stats.requests}, faulted {proxy.stats.faulted}", flush=True)


if __name__ == "__main__":
    main()
