"""A TCP proxy on loopback that passes everything through, byte for byte, until ``cut``: then it
ends every change stream in flight (``GET .../stream``) and answers each new one 503, while
every other request still passes. A server whose stream broke and whose API still answers."""

from __future__ import annotations

import asyncio
import contextlib
import threading

STREAM_REQUEST = b"/stream HTTP/1."
REFUSED = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class StreamCutter:
    """``http://127.0.0.1:<port>`` in front of ``host:port``; ``cut`` breaks its streams."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.cutting = False
        self._streams: set[asyncio.StreamWriter] = set()  # client sides carrying a stream
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StreamCutter:
        self._thread = threading.Thread(target=self._run, name="stream-cutter", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the stream cutter did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def cut(self) -> None:
        """End the streams in flight and refuse new ones; other requests still pass."""
        assert self._loop is not None
        done = threading.Event()

        def cut_here() -> None:
            self.cutting = True
            for writer in list(self._streams):
                writer.transport.abort()
            done.set()

        self._loop.call_soon_threadsafe(cut_here)
        done.wait(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        back = asyncio.create_task(self._pipe(up_reader, writer))
        try:
            while chunk := await reader.read(65536):
                if STREAM_REQUEST in chunk.split(b"\r\n", 1)[0]:
                    if self.cutting:
                        writer.write(REFUSED)
                        await writer.drain()
                        break
                    self._streams.add(writer)
                up_writer.write(chunk)
                await up_writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(writer)
            back.cancel()
            for end in (writer, up_writer):
                with contextlib.suppress(Exception):
                    end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.transport.abort()
