"""One source's HTTP: auth headers, retries with backoff, error mapping, request accounting.

The retry rules are qiskit-ibm-runtime's (``api/session.py``): at most 5 tries, exponential
backoff on 500, 502, 503, 504, 520, 521, 522, 524 and on connection errors, for POST too since
IBM guarantees those are safe to retry. We add jitter, honour ``Retry-After`` on 429, and refresh
the IAM token once on a 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from qjob_tui.api.address import masked_url, names_address
from qjob_tui.api.auth import Auth
from qjob_tui.api.errors import (
    ApiError,
    BadRequest,
    BadResponse,
    InvalidSource,
    InvalidState,
    NetworkError,
    NotAuthorized,
    NotFound,
    RateLimited,
    ServerError,
    Unsupported,
    mask,
)
from qjob_tui.api.server_clock import ServerClock
from qjob_tui.api.timeouts import CONNECT_TIMEOUT, READ_TIMEOUT
from qjob_tui.text import counted
from qjob_tui.wire import rest

RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 524})
MAX_TRIES = 5
PROGRESS_EVERY = 10.0


@dataclass
class RequestStats:
    """What a source cost: requests sent and bytes received, for benchmarks and the status line."""

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up on one request."""

    max_tries: int = MAX_TRIES
    backoff: float = 0.5
    max_backoff: float = 30.0
    # A 429 whose Retry-After is longer than this is raised, for the caller to schedule.
    max_wait: float = 10.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter for the n-th failed attempt (1-based)."""
        ceiling = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
        return random.uniform(ceiling / 2, ceiling)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_message(response: httpx.Response) -> str:
    """The server's own words from either error body shape, or the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
            if isinstance(message, str) and message:
                return message
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    text = response.text.strip() if response.content else ""
    if text and len(text) < 200 and "<" not in text:
        return text
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")  # what an HTTP header value may hold
_BAD_HEADER = "a header value (the token?) holds a line break or characters outside ASCII"


def _plain(exc: Exception) -> str:
    """An httpx error's own words, without a header value it may quote."""
    if isinstance(exc, httpx.LocalProtocolError):
        return _BAD_HEADER
    return str(exc) or type(exc).__name__


_ERRORS: Mapping[int, type[ApiError]] = {
    400: BadRequest,
    401: NotAuthorized,
    403: NotAuthorized,
    404: NotFound,
    405: Unsupported,
    409: InvalidState,
}


class Requester:
    """Sends one source's requests over one connection pool."""

    def __init__(
        self,
        source: str,
        base_url: str,
        auth: Auth,
        *,
        verify: bool = True,
        read_timeout: float = READ_TIMEOUT,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        user_agent: str = "qjob-tui",
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        # Told "waiting for URL: 20 s, try 2 of 5" while a request goes unanswered (the CLI
        # prints it on stderr, so a silent server is never a silent command).
        self.progress = progress
        self.read_timeout = read_timeout
        self.auth = auth
        self.policy = policy or RetryPolicy()
        self.stats = RequestStats()
        # The instance id the last answer carried (a qjob-tui service sends it on every one).
        self.served_by: str | None = None
        self.clock = ServerClock()  # how far the server's clock is from ours
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            verify=verify,
            timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": user_agent},
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
        )

    def __repr__(self) -> str:
        return f"Requester({self.source!r}, {str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    def _fail(self, cls: type[ApiError], message: str, **kwargs: Any) -> ApiError:
        return cls(mask(message, self.auth.secrets), source=self.source, **kwargs)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
    ) -> httpx.Response:
        """Send a request, retrying what is safe to retry; raise a typed ApiError on failure."""
        attempt = 0
        refreshed = False
        content = None if json_body is None else json.dumps(json_body).encode()
        tries = [0]  # the try in flight, for the progress reports
        reporter = None
        if self.progress is not None:
            reporter = asyncio.create_task(self._report_waiting(path, tries))
        try:
            while True:
                attempt += 1
                tries[0] = attempt
                response = await self._send(method, path, params, content, attempt)
                if response is None:  # a network fault worth another try
                    await self._backoff(attempt)
                    continue
                status = response.status_code
                if status < 400:
                    return response
                if status == 401 and not refreshed and self.auth.invalidate():
                    refreshed = True
                    attempt -= 1
                    continue
                wait = self._retry_wait(response, attempt)
                if wait is None:
                    raise self.error_for(response)
                self.stats.retries += 1
                await self._sleep(wait)
        finally:
            if reporter is not None:
                reporter.cancel()

    async def _report_waiting(self, path: str, tries: list[int]) -> None:
        """Every ``PROGRESS_EVERY`` seconds (or each read timeout, if shorter) of one request
        without an answer, tell ``progress`` how long and which try."""
        assert self.progress is not None
        every = min(PROGRESS_EVERY, self.read_timeout)
        started = time.monotonic()
        url = f"{str(self._client.base_url).rstrip('/')}{path}"
        while True:
            await asyncio.sleep(every)
            waited = time.monotonic() - started
            self.progress(
                f"waiting for {url}: {waited:.0f} s, try {tries[0]} of {self.policy.max_tries}"
            )

    async def _send(
        self, method: str, path: str, params: Any, content: bytes | None, attempt: int
    ) -> httpx.Response | None:
        """One try: the response, None for a fault to retry, or a NetworkError after the last."""
        try:
            headers = await self.auth.headers()
            if not all(_HEADER_VALUE.fullmatch(value) for value in headers.values()):
                # Refused before connecting: a token with a line break or non-ASCII letter
                # fails the same on every try, wherever the server is.
                raise self._fail(InvalidSource, f"cannot send a request: {_BAD_HEADER}")
            if content is not None:
                headers["Content-Type"] = "application/json"
            self.stats.requests += 1
            self.stats.bytes_sent += len(content or b"")
            sent = datetime.now(UTC)
            response = await self._client.request(
                method, path, params=params, content=content, headers=headers
            )
            self.clock.heard(response.headers.get("date"), sent, datetime.now(UTC))
            self.stats.bytes_received += len(response.content)
            self.served_by = response.headers.get(rest.INSTANCE_HEADER)
            return response
        except ApiError as exc:
            # From the IAM exchange: already typed; secrets never in it.
            if isinstance(exc, NetworkError) and attempt < self.policy.max_tries:
                return None
            raise
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            # The request cannot be written (a bad URL, port or header value): the same next
            # time, so it is refused at once. The message never quotes a header.
            raise self._fail(InvalidSource, f"cannot send a request: {_plain(exc)}") from None
        except (UnicodeEncodeError, OverflowError) as exc:
            reason = "a header or the URL holds characters outside ASCII"
            if isinstance(exc, OverflowError):
                reason = "the port is out of range (1-65535)"
            raise self._fail(InvalidSource, f"cannot send a request: {reason}") from None
        except ExceptionGroup as group:  # anyio's connect attempts, each failed the same way
            if group.subgroup(OverflowError) is None:
                raise
            reason = "the port is out of range (1-65535)"
            raise self._fail(InvalidSource, f"cannot send a request: {reason}") from None
        except httpx.TimeoutException:
            if attempt < self.policy.max_tries:
                return None
            raise self._fail(
                NetworkError,
                f"timed out after {_tries(attempt)} (no answer{self._from_where} within "
                f"{self.read_timeout:g} s)",
            ) from None
        except httpx.TransportError as exc:
            if attempt < self.policy.max_tries:
                return None
            reason = type(exc).__name__
            raise self._fail(
                NetworkError, f"unreachable ({reason}){self._at_where} after {_tries(attempt)}"
            ) from None

    @property
    def _shown_url(self) -> str:
        """The service's address as errors name it: a script may hold only the URL, not the
        source's name; whatever could be a secret in it is masked."""
        return masked_url(str(self._client.base_url).rstrip("/"))

    @property
    def _named_by_address(self) -> bool:
        """The source's name, which starts every error of it, is already its address."""
        return names_address(self.source, self._shown_url)

    @property
    def _at_where(self) -> str:
        return "" if self._named_by_address else f" at {self._shown_url}"

    @property
    def _from_where(self) -> str:
        return "" if self._named_by_address else f" from {self._shown_url}"

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before trying a refused request again, or None not to."""
        if attempt >= self.policy.max_tries:
            return None
        if response.status_code in RETRY_STATUSES:
            return self.policy.delay(attempt)
        if response.status_code == 429:
            wait = retry_after(response)
            if (wait or 0.0) <= self.policy.max_wait:
                return wait if wait is not None else self.policy.delay(attempt)
        return None

    def error_for(self, response: httpx.Response) -> ApiError:
        """The typed error of a response the server refused for good (also ``stream``'s)."""
        status = response.status_code
        if status == 429:
            return self._fail(
                RateLimited,
                f"rate limited: {error_message(response)}",
                retry_after=retry_after(response),
            )
        cls = _ERRORS.get(status)
        if cls is None:
            cls = ServerError if status >= 500 else ApiError
        return self._fail(cls, error_message(response), status=status)

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, path: str, *, read_timeout: float | None = None
    ) -> AsyncIterator[httpx.Response]:
        """One long request whose body is read as it comes (the change stream); no retries,
        its caller falls back instead, and counts the bytes it reads."""
        headers = await self.auth.headers()
        headers["Accept"] = "text/event-stream"
        timeout = httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT)
        self.stats.requests += 1
        async with self._client.stream(method, path, headers=headers, timeout=timeout) as response:
            yield response

    async def _backoff(self, attempt: int) -> None:
        self.stats.retries += 1
        await self._sleep(self.policy.delay(attempt))

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request whose answer must be JSON; a malformed or truncated body is BadResponse."""
        response = await self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise self._fail(BadResponse, f"{method} {path}: invalid JSON ({exc})") from None


def _tries(count: int) -> str:
    return counted(count, "try", "tries")
