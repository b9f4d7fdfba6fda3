"""The errors a route raises for the client's input, each answered in IBM's error shape."""

from __future__ import annotations

from qjob_tui.service.validation import InvalidInput


class InvalidRequest(InvalidInput):
    """Input the client must fix; becomes a 400 in IBM's error shape."""


class NoSuchResource(Exception):
    """An unknown job or backend; becomes a 404 in IBM's error shape."""


class SessionRefused(Exception):
    """A job for a closed session; becomes a 409, as IBM answers."""
