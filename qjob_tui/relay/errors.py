"""The relay's refusals, in IBM's error shape as the local service answers them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from qjob_tui.store import JobStore
from qjob_tui.text import one_line


def error(status: int, code: str, message: str) -> JSONResponse:
    """An error in IBM's shape, as the local service answers them."""
    body = {"errors": [{"code": code, "message": message, "more_info": ""}]}
    return JSONResponse(body, status_code=status)


class BadQuery(ValueError):
    """A query parameter the caller must fix: a 400."""


def known_source(store: JobStore, request: Request) -> str:
    """The source a request's path names; a LookupError (a 404) if the relay has none such."""
    name = request.path_params["source"]
    if name not in store.pollers:
        raise LookupError(f"no source {one_line(name, 60)!r} on this relay")
    return str(name)


class NotListedYet(Exception):
    """The relay has not listed a source's jobs yet, since it started or since another
    server took the source's address: a 503, for the caller to ask again (an empty list
    would read as "no jobs", a lookup as "no such job")."""

    code = "not_listed_yet"


class NotReadYet(NotListedYet):
    """The relay holds no reading yet of what it will read on its own clock (a session of a
    job it lists, the usage): a 503 too. A 404 told a viewer the session was gone, and the
    viewer never asked for it again."""

    code = "not_read_yet"


def require_listed(store: JobStore, source: str) -> None:
    """NotListedYet unless the relay holds a listing of ``source``'s jobs, read upstream or
    from the cache of the server answering there now."""
    poller = store.pollers[source]
    if poller.listed:
        return
    last_error = poller.health.last_error
    why = f": {one_line(last_error, 200)}" if last_error else ""
    raise NotListedYet(f"the relay has not read the jobs of {source} yet{why}")
