"""The relay's sessions and usage: read from the store, actions forwarded through it.

``GET /sessions/{id}`` answers what the store's session watch last read (it reads the sessions
of the jobs it knows), so that a viewer's session tree costs upstream nothing. Closing a session
(``PATCH`` with ``accepting_jobs: false``, as ``Session.close()`` sends it) and cancelling one
(``DELETE /sessions/{id}/close``) are operators' actions, forwarded through the store.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qjob_tui.relay.errors import BadQuery, NotReadYet, error, known_source, require_listed
from qjob_tui.relay.views import session_json, usage_json
from qjob_tui.store import JobStore
from qjob_tui.store.changes import ActionResult, SessionKey
from qjob_tui.text import one_line


class SessionRoutes:
    """Handlers for ``/sessions`` and ``/instances/usage`` under each source's prefix."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def _key(self, request: Request) -> SessionKey:
        source = known_source(self.store, request)
        require_listed(self.store, source)
        session_id = str(request.path_params["session_id"])
        key = (source, session_id)
        if self.store.session(key) is None:
            shown = one_line(session_id, 80)
            jobs = self.store.pollers[source].jobs.values()
            if any(job.session_id == session_id for job in jobs):
                raise NotReadYet(f"the relay has not read session {shown} of {source} yet")
            raise LookupError(f"Session not found: {shown}")
        return key

    def _answer(self, result: ActionResult) -> Response:
        return Response(status_code=204) if result.ok else error(409, "refused", result.message)

    async def get_session(self, request: Request) -> Response:
        session = self.store.session(self._key(request))
        assert session is not None  # _key checked it
        return JSONResponse(session_json(session))

    async def update_session(self, request: Request) -> Response:
        key = self._key(request)
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise BadQuery("the body is not JSON") from None
        if body != {"accepting_jobs": False}:
            raise BadQuery('a session can only be closed here: send {"accepting_jobs": false}')
        return self._answer(await self.store.close_session(key))

    async def cancel_session(self, request: Request) -> Response:
        return self._answer(await self.store.cancel_session(self._key(request)))

    async def usage(self, request: Request) -> Response:
        source = known_source(self.store, request)
        usage = self.store.usage.get(source)
        if usage is None:
            raise NotReadYet(f"the relay has not read the usage of {source} yet")
        return JSONResponse(usage_json(usage))
