"""A server's push stream of job changes (``GET /stream``, server-sent events), as models.

The local service and the relay offer it (see ``service/stream.py`` for the events); IBM Quantum
does not, and answers 404, which ``changes`` raises as ``Unsupported`` so the store keeps
polling. A stream that breaks raises ``NetworkError``; the caller falls back to polling. One
that stays silent past the keep-alive period its server announced (in the hello) and one request
timeout raises ``NoAnswer``: the server took it and stopped answering (stopped, hung).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qjob_tui.api import parse
from qjob_tui.api.errors import (
    ApiError,
    BadResponse,
    NetworkError,
    NoAnswer,
    NotFound,
    Unsupported,
)
from qjob_tui.model import Job
from qjob_tui.text import one_line
from qjob_tui.wire import rest

if TYPE_CHECKING:
    import httpx

    from qjob_tui.api.http import Requester

# How often a server that does not say (an older qjob-tui) sends a comment on an idle stream.
UNANNOUNCED_KEEPALIVE = 15.0
MAX_EVENT_BYTES = 1_000_000


@dataclass(frozen=True)
class JobChange:
    """One job as the server has it now, and the fields the server says changed."""

    job_id: str
    job: Job | None  # None when the job was deleted
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamOpened:
    """The server accepted the stream: from now on, changes come without polling.
    ``served_by``: the qjob-tui service instance that opened it (a relay's: its upstream's),
    if it said; the stream's changes are that server's."""

    served_by: str | None = None


@dataclass(frozen=True)
class UpstreamHealth:
    """A relay's word on its own upstream: ok, pushing changes, or failing and why."""

    ok: bool
    streaming: bool = False
    error: str | None = None


def upstream_from_event(data: object) -> UpstreamHealth:
    body = parse.as_object(data, "health event")
    error = body.get("last_error") if body.get("stale") else None
    return UpstreamHealth(
        ok=bool(body.get("ok")),
        streaming=bool(body.get("streaming")),
        error=one_line(error, 160) if isinstance(error, str) else None,
    )


def change_from_event(data: object, source: str) -> JobChange:
    """A ``job`` event's data as a JobChange; ShapeError if it is not one."""
    body = parse.as_object(data, "stream event")
    job_id = body.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise parse.ShapeError("stream event without a job id")
    if body.get("deleted"):
        return JobChange(one_line(job_id, 80), None)
    job = parse.job_from_api(body.get("job"), source)
    if body.get("metrics") is not None:
        job = parse.with_metrics(job, parse.metrics_from_api(body["metrics"]))
    changed = body.get("changed") or []
    fields = (
        tuple(one_line(f, 40) for f in changed if isinstance(f, str))
        if isinstance(changed, list)
        else ()
    )
    return JobChange(job.id, job, fields)


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream (WHATWG rules, less ids/retry)."""
    event, data, size = "message", [], 0
    async for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data, size = "message", [], 0
            continue
        if line.startswith(":"):
            continue  # a comment: keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            size += len(value)
            if size > MAX_EVENT_BYTES:
                raise BadResponse("a stream event is too large")
            data.append(value)


def keepalive_of(hello: str) -> float:
    """How often the server said it sends a sign of life on an idle stream (in its hello)."""
    try:
        said = json.loads(hello).get("keepalive")
    except (ValueError, AttributeError):
        said = None
    if isinstance(said, int | float) and not isinstance(said, bool) and 0 < said <= 60:
        return float(said)
    return UNANNOUNCED_KEEPALIVE


class _Heard:
    """The stream's lines, as long as the server keeps to its word: a sign of life (an event
    or a keep-alive comment) at least every keep-alive period, give or take one request
    timeout. A server that accepted the stream and then went silent (stopped, hung) is said
    as ``NoAnswer``, long before the connection's own timeout would tell."""

    def __init__(self, http: Requester) -> None:
        self.http = http
        self.limit = http.read_timeout  # until the hello, which comes at once

    def hello(self, data: str) -> None:
        self.limit = keepalive_of(data) + self.http.read_timeout

    async def lines(self, response: httpx.Response) -> AsyncIterator[str]:
        lines = aiter(response.aiter_lines())
        while True:
            try:
                async with asyncio.timeout(self.limit):
                    line = await anext(lines)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise NoAnswer(
                    f"not answering: nothing on the change stream within {self.limit:g} s",
                    source=self.http.source,
                ) from None
            self.http.stats.bytes_received += len(line) + 1
            yield line


async def job_changes(
    http: Requester, source: str
) -> AsyncIterator[StreamOpened | JobChange | UpstreamHealth]:
    """Follow ``GET /stream`` until it ends; first ``StreamOpened``, then the changes."""
    import httpx

    # httpx's own limit is a backstop: ``_Heard`` holds the server to the period it said.
    longest = UNANNOUNCED_KEEPALIVE + http.read_timeout
    try:
        async with http.stream("GET", rest.STREAM, read_timeout=longest) as response:
            if response.status_code in (404, 405):
                raise Unsupported("this server offers no change stream", source=source)
            if response.status_code >= 400:
                await response.aread()
                raise http.error_for(response)
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                raise Unsupported("GET /stream is not an event stream here", source=source)
            heard = _Heard(http)
            async for event, data in _events(heard.lines(response)):
                if event == rest.HELLO_EVENT:
                    heard.hello(data)
                    yield StreamOpened(response.headers.get(rest.INSTANCE_HEADER))
                elif event in (rest.JOB_EVENT, rest.HEALTH_EVENT):
                    try:
                        body = json.loads(data)
                        if event == rest.HEALTH_EVENT:
                            yield upstream_from_event(body)
                        else:
                            yield change_from_event(body, source)
                    except (ValueError, parse.ShapeError) as exc:
                        raise BadResponse(f"stream event: {exc}", source=source) from None
    except NotFound:
        raise Unsupported("this server offers no change stream", source=source) from None
    except ApiError:
        raise
    except httpx.TimeoutException:
        raise NoAnswer(
            f"not answering: no answer on the change stream within {longest:g} s", source=source
        ) from None
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        raise NetworkError(f"the change stream broke ({reason})", source=source) from None
    raise NetworkError("the change stream ended", source=source)
