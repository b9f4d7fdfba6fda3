"""Routes of IBM's session API: ``POST /sessions``, ``GET``/``PATCH /sessions/{id}``, ``DELETE
/sessions/{id}/close``. Sessions live in the scheduler's ``SessionBook``; answers are its shapes.

Imported by ``app.create_app`` once ``app`` is loaded, so that it can use the app's errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qjob_tui.service import views
from qjob_tui.service.route_errors import InvalidRequest, NoSuchResource
from qjob_tui.service.sessions import (
    DEFAULT_INTERACTIVE_TTL,
    DEFAULT_MAX_TTL,
    MAX_TTL_LIMIT,
    MODES,
    Session,
)

if TYPE_CHECKING:
    from qjob_tui.service.app import JobRoutes


class SessionRoutes:
    """Handlers for sessions and batches over one service."""

    def __init__(self, service: JobRoutes) -> None:
        self.service = service

    def _session_or_404(self, request: Request) -> Session:
        session_id = request.path_params["session_id"]
        session = self.service.scheduler.sessions.get(session_id)
        if session is None:
            raise NoSuchResource(f"Session not found: {session_id}")
        return session

    async def create(self, request: Request) -> Response:
        body = await self.service._json_body(request)
        mode = body.get("mode", "dedicated")
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {list(MODES)}, not {mode!r}")
        backend = body.get("backend")
        if backend is not None and (
            not isinstance(backend, str) or backend not in self.service.backends
        ):
            raise InvalidRequest(
                f"unknown backend {backend!r}; "
                f"available: {', '.join(sorted(self.service.backends))}"
            )
        max_ttl = _seconds(body, "max_ttl", DEFAULT_MAX_TTL, MAX_TTL_LIMIT)
        interactive_ttl = _seconds(body, "interactive_ttl", DEFAULT_INTERACTIVE_TTL, max_ttl)
        session = self.service.scheduler.open_session(
            mode, backend, max_ttl, interactive_ttl, self.service.config.user_id
        )
        return JSONResponse(session.to_json(datetime.now(UTC)))

    async def details(self, request: Request) -> Response:
        session = self._session_or_404(request)
        return JSONResponse(session.to_json(datetime.now(UTC)))

    async def update(self, request: Request) -> Response:
        session = self._session_or_404(request)
        body = await self.service._json_body(request)
        if set(body) != {"accepting_jobs"} or not isinstance(body["accepting_jobs"], bool):
            raise InvalidRequest(
                'only accepting_jobs can be changed: send {"accepting_jobs": false}'
            )
        if body["accepting_jobs"]:
            if not session.accepting_jobs:
                return views.error(
                    409, "invalid_state", f"Session {session.id} is closed and cannot reopen."
                )
            return Response(status_code=204)
        self.service.scheduler.close_session(session)
        return Response(status_code=204)

    async def cancel(self, request: Request) -> Response:
        session = self._session_or_404(request)
        await self.service.scheduler.cancel_session(session)
        return Response(status_code=204)


def _seconds(body: dict[str, Any], key: str, default: int, limit: int) -> int:
    value = body.get(key)
    if value is None:
        return min(default, limit)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InvalidRequest(f"{key} must be a whole number of seconds from 1 to {limit}")
    return value
