"""Typed errors of the job library, each with a message that fits in one status line.

Messages come partly from servers, so they are cleaned of escape sequences and cut short, and
they never contain a secret: headers are never quoted, and known secrets are masked.
"""

from __future__ import annotations

from qjob_tui.text import one_line


class ApiError(Exception):
    """A request to a job service failed."""

    status: int | None = None

    def __init__(self, message: str, *, source: str = "", status: int | None = None) -> None:
        self.source = source
        if status is not None:
            self.status = status
        self.detail = one_line(message, 160)
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{self.detail}")


class NotAuthorized(ApiError):
    """The credentials were refused (401/403, or the IAM token exchange failed)."""


class NotFound(ApiError):
    """No such job or backend (404)."""


class InvalidState(ApiError):
    """The job's state does not allow the action, e.g. cancelling a finished job (409)."""


class BadRequest(ApiError):
    """The service refused the request's content (400), e.g. a tag that is too long."""


class Unsupported(ApiError):
    """The service does not offer this action (e.g. renaming jobs on IBM Quantum)."""


class RateLimited(ApiError):
    """Too many requests (429); ``retry_after`` says when to try again, if the server said."""

    def __init__(self, message: str, *, source: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, source=source, status=429)
        self.retry_after = retry_after


class ServerError(ApiError):
    """The service failed (5xx) and kept failing through the retries."""


class NetworkError(ApiError):
    """The service could not be reached: refused, timed out, reset, DNS."""


class NoAnswer(NetworkError):
    """The service took the request and then said nothing for longer than it may (a stopped
    or hung server): it is not answering, whatever a later try brings."""


class InvalidSource(ApiError):
    """The source's own URL, port or credentials cannot make a request (a port out of range, a
    token no header can carry): a mistake of the settings, which no retry can mend."""


class InvalidId(ApiError):
    """A job, session or backend id that no server gives (``../jobs/X``, ``a\tb``, ``''``):
    refused before it reaches a URL."""


class BadResponse(ApiError):
    """The service answered something this client cannot read (bad or truncated JSON)."""


def mask(text: str, secrets: list[str]) -> str:
    """Replace each secret in the text by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
