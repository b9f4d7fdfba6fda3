"""The relay's refusals, in IBM's error shape as the local service answers them."""

from __future__ import annotations

from starlette.responses import JSONResponse


def error(status: int, code: str, message: str) -> JSONResponse:
    """An error in IBM's shape, as the local service answers them."""
    body = {"errors": [{"code": code, "message": message, "more_info": ""}]}
    return JSONResponse(body, status_code=status)


class BadQuery(ValueError):
    """A query parameter the caller must fix: a 400."""
