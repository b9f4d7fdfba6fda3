"""The relay's web application: the store's sources, each under ``/sources/{name}/api/v1``.

Reads (job lists, jobs, metrics, backends, sessions) are answered from the store's memory, never
by asking upstream again; results, params and logs, which the store does not keep, are read
upstream once for all viewers (``relay/forwarded.py``). Actions (cancel, tags, rename, closing
or cancelling a session) go through the store, for operators only. ``GET /sources`` lists the
sources and their health; each source's ``/stream`` pushes its changes as the local service's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from qjob_tui.edge.client_left import client_left
from qjob_tui.edge.connections import RequestFraming
from qjob_tui.edge.logins import TooManyAttempts, client_address
from qjob_tui.edge.response_header import ResponseHeader
from qjob_tui.edge.same_site import PagesKeptOut
from qjob_tui.model import Job, name_problem, tag_problem
from qjob_tui.relay.door import OPERATOR, Door
from qjob_tui.relay.errors import BadQuery, NotListedYet, error, known_source, require_listed
from qjob_tui.relay.forwarded import Forwarded
from qjob_tui.relay.session_routes import SessionRoutes
from qjob_tui.relay.source_identity import relay_instance, source_instance
from qjob_tui.relay.views import device_json, health_json, job_json, metrics_json
from qjob_tui.store import JobStore
from qjob_tui.store.changes import ChangeSet, JobKey
from qjob_tui.text import one_line
from qjob_tui.wire import rest
from qjob_tui.wire.events import drain, end_stream, sse
from qjob_tui.wire.job_query import JobQuery, QueryRefused, read_flag, read_job_query

STREAM_BACKLOG = 2000
JSON = "application/json"
T = TypeVar("T")


def job_query(request: Request) -> JobQuery:
    """A ``GET /jobs`` query, by the rules the service reads it with; a 400 otherwise."""
    query = read_job_query(request.query_params.multi_items())
    if isinstance(query, QueryRefused):
        raise BadQuery(query.message)
    return query


def select_jobs(jobs: Iterable[Job], query: JobQuery) -> list[Job]:
    """The page of jobs a ``GET /jobs`` query asks for, from the store's memory."""
    after, before, tags = query.created_after, query.created_before, set(query.tags)
    wanted = {
        name: value
        for name, value in (
            ("backend", query.backend),
            ("program", query.program),
            ("session_id", query.session_id),
        )
        if value is not None
    }
    chosen = [
        job
        for job in jobs
        if (query.pending is None or job.status.is_active == query.pending)
        and (after is None or job.created > after)
        and (before is None or job.created < before)
        and tags <= set(job.tags)
        and all(getattr(job, k) == v for k, v in wanted.items())
    ]
    chosen.sort(key=lambda job: (job.created, job.id), reverse=query.descending)
    return chosen


class RelayStreams:
    """Every source's ``/stream`` subscribers, fed from one subscription to the store."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._queues: dict[str, set[asyncio.Queue[bytes | None]]] = {}
        self._sent: dict[JobKey, Job] = {}
        self._health: dict[str, tuple[object, ...]] = {}
        self._unsubscribe = store.subscribe(self._on_changes)
        self.ended = False  # the relay is stopping: no stream opens any more

    def health_event(self, source: str) -> bytes:
        return sse(rest.HEALTH_EVENT, health_json(self.store.pollers[source].health))

    def open(self, source: str) -> asyncio.Queue[bytes | None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(STREAM_BACKLOG)
        self._queues.setdefault(source, set()).add(queue)
        return queue

    def close(self, source: str, queue: asyncio.Queue[bytes | None]) -> None:
        self._queues.get(source, set()).discard(queue)

    def end_all(self) -> None:
        """End every open stream (the relay is stopping) and refuse new ones."""
        if self.ended:
            return
        self.ended = True
        self._unsubscribe()
        for queues in self._queues.values():
            for queue in queues:
                end_stream(queue)

    def _on_changes(self, changes: ChangeSet) -> None:
        events: dict[str, list[bytes]] = {}
        for source in changes.switched:  # another server at that address: nothing of the old
            self._sent = {key: job for key, job in self._sent.items() if key[0] != source}
            # A viewer's stream was opened under the old server's instance id: the new one's
            # changes would land in the old one's state. Ended, it is opened again under the
            # new id, which the viewer sees first.
            for queue in self._queues.pop(source, set()):
                end_stream(queue)
        for health in changes.health:
            # Only news worth a viewer's bytes: not every poll's new "last success", but each
            # change of the pace the relay keeps (the interval it tells).
            summary = (
                health.ok,
                health.stale,
                health.streaming,
                health.last_error,
                health.interval,
            )
            if self._health.get(health.source) != summary:
                self._health[health.source] = summary
                events.setdefault(health.source, []).append(self.health_event(health.source))
        for job in (*changes.added, *changes.changed):
            before = self._sent.get(job.key)
            self._sent[job.key] = job
            if not self._queues.get(job.source):
                continue
            event = job_event(job, before)
            if event is not None:
                events.setdefault(job.source, []).append(sse(rest.JOB_EVENT, event))
        for source, job_id in changes.removed:
            self._sent.pop((source, job_id), None)
            events.setdefault(source, []).append(
                sse(rest.JOB_EVENT, rest.deleted_event_body(job_id))
            )
        for source, items in events.items():
            for queue in list(self._queues.get(source, ())):
                try:
                    for item in items:
                        queue.put_nowait(item)
                except asyncio.QueueFull:  # too slow: end its stream, it will reconcile
                    self.close(source, queue)
                    end_stream(queue)


def job_event(job: Job, before: Job | None) -> dict[str, Any] | None:
    """A job of the store as a ``job`` event, naming what changed since ``before`` (the job
    as last seen); None when a viewer would see nothing new."""
    body, metrics = job_json(job), metrics_json(job)
    if before is None:
        return rest.job_event_body(body, metrics, list(rest.CHANGE_FIELDS))
    shown = job_json(before)
    if (shown, metrics_json(before)) == (body, metrics):
        return None
    return rest.job_event_body(body, metrics, rest.changed_fields(shown, body))


class Relay:
    """Route handlers over one store."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.streams = RelayStreams(store)
        self.forwarded = Forwarded(store)

    # --- helpers -------------------------------------------------------------------------

    def _job(self, request: Request) -> Job:
        source = known_source(self.store, request)
        require_listed(self.store, source)
        job = self.store.job((source, request.path_params["job_id"]))
        if job is None:
            raise LookupError(f"Job not found: {one_line(request.path_params['job_id'], 80)}")
        return job

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise BadQuery("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadQuery("the body must be a JSON object")
        return body

    # --- reads ---------------------------------------------------------------------------

    async def sources(self, request: Request) -> Response:
        listed = []
        for name, poller in self.store.pollers.items():
            source = poller.client.source
            listed.append(
                {
                    "name": name,
                    "kind": source.kind,
                    **health_json(poller.health),
                    # What watching this source has cost upstream so far, all viewers together.
                    "upstream_requests": poller.client.stats.requests,
                }
            )
        return JSONResponse({"sources": listed})

    async def list_jobs(self, request: Request) -> Response:
        source = known_source(self.store, request)
        query = job_query(request)
        require_listed(self.store, source)
        chosen = select_jobs(self.store.pollers[source].jobs.values(), query)
        page = chosen[query.offset : query.offset + query.limit]
        return JSONResponse(
            {
                "jobs": [job_json(j) for j in page],
                "count": len(chosen),
                "offset": query.offset,
                "limit": query.limit,
            }
        )

    async def get_job(self, request: Request) -> Response:
        job = self._job(request)
        body = job_json(job)
        # Params are read upstream, so only when asked for (the service's default is to send).
        exclude = read_flag("exclude_params", request.query_params.get("exclude_params"))
        if isinstance(exclude, QueryRefused):
            raise BadQuery(exclude.message)
        if exclude is False:
            params = await self._upstream(self.forwarded.params(job))
            if isinstance(params, Response):
                return params
            body["params"] = params
        return JSONResponse(body)

    async def metrics(self, request: Request) -> Response:
        # A finished job listed from history has no steps until they are read: the store
        # reads them upstream, once for every viewer who asks.
        job = await self.store.with_steps(self._job(request).key)
        if job is None:
            raise LookupError(f"Job not found: {one_line(request.path_params['job_id'], 80)}")
        return JSONResponse(metrics_json(job))

    async def results(self, request: Request) -> Response:
        job = self._job(request)
        if job.private:  # the service deletes it as it is read: one viewer would take it
            return error(
                403,
                "forbidden",
                "a private job's result can be read only once, by its owner at the service: "
                "the relay does not read it",
            )
        text = await self._upstream(self.forwarded.results(job))
        if isinstance(text, Response):
            return text
        return Response(status_code=204) if text is None else Response(text, media_type=JSON)

    async def logs(self, request: Request) -> Response:
        text = await self._upstream(self.forwarded.log(self._job(request)))
        return text if isinstance(text, Response) else PlainTextResponse(text)

    @staticmethod
    async def _upstream(reading: Awaitable[T]) -> T | Response:
        """What upstream answered, or a 502 that says why it did not."""
        from qjob_tui.api.errors import ApiError, NotFound

        try:
            return await reading
        except NotFound as exc:
            return error(404, "not_found", exc.detail)
        except ApiError as exc:
            return error(502, "upstream_error", exc.detail)

    async def version(self, request: Request) -> Response:
        """Who answers behind this source (``relay/source_identity.py``)."""
        from qjob_tui import __version__

        source = known_source(self.store, request)
        instance = relay_instance(self.store, source)
        if instance is None:
            health = self.store.pollers[source].health
            why = f": {health.last_error}" if health.last_error else ""
            answer = error(503, "unknown_upstream", f"the relay has not reached {source} yet{why}")
            answer.headers["Retry-After"] = "1"
            return answer
        return JSONResponse(
            {"service": "qjob-tui", "version": __version__, "instance_id": instance}
        )

    async def backends(self, request: Request) -> Response:
        source = known_source(self.store, request)
        require_listed(self.store, source)  # read in the listing's round: none yet means unread
        devices = [device_json(b) for b in self.store.pollers[source].backends.values()]
        return JSONResponse({"devices": devices})

    async def stream(self, request: Request) -> Response:
        source = known_source(self.store, request)
        if self.streams.ended:
            return error(503, "stopping", "the relay is stopping")
        queue = self.streams.open(source)

        async def events() -> AsyncIterator[bytes]:
            try:
                yield sse(rest.HELLO_EVENT, rest.hello_body(source))
                yield self.streams.health_event(source)
                async for item in drain(queue):
                    yield item
            finally:
                self.streams.close(source, queue)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    # --- actions, for operators ----------------------------------------------------------

    async def cancel(self, request: Request) -> Response:
        job = self._job(request)
        [result] = await self.store.cancel([job.key])
        if not result.ok:
            return error(409, "invalid_state", result.message)
        return Response(status_code=204)

    async def replace_tags(self, request: Request) -> Response:
        job = self._job(request)
        tags = (await self._body(request)).get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadQuery('the body must be {"tags": ["...", ...]}')
        problem = tag_problem(tags)
        if problem is not None:
            raise BadQuery(problem)
        result = await self.store.set_tags(job.key, tags)
        return Response(status_code=204) if result.ok else error(409, "refused", result.message)

    async def update_job(self, request: Request) -> Response:
        job = self._job(request)
        body = await self._body(request)
        name = body.get("name")
        if set(body) != {"name"}:
            raise BadQuery('only the job\'s name can be changed: send {"name": ...}')
        if not (name is None or isinstance(name, str)):
            raise BadQuery("name must be a string")  # as the service says it
        problem = name_problem(name or "")  # as upstream would refuse it: 400, not 409
        if problem is not None:
            raise BadQuery(problem)
        result = await self.store.rename(job.key, name or "")
        return Response(status_code=204) if result.ok else error(409, "refused", result.message)

    async def refuse_submit(self, request: Request) -> Response:
        return error(405, "not_supported", "submit jobs to the upstream service, not the relay")


class RelayGate:
    """ASGI middleware: a caller's role from its token (``Door``); actions need an operator."""

    def __init__(self, app: Any, door: Door) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        try:
            role = await self.door.role(authorization, client_address(scope))
        except TooManyAttempts as exc:
            refused = error(429, "too_many_requests", str(exc))
            refused.headers.update(exc.headers)
            await refused(scope, receive, send)
            return
        if role is None:
            await error(401, "unauthorized", "missing or invalid bearer token")(
                scope, receive, send
            )
            return
        if scope["method"] not in ("GET", "HEAD") and role != OPERATOR:
            await error(403, "forbidden", "this token may only watch, not act")(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


async def _bad_query(request: Request, exc: Exception) -> Response:
    return error(400, "bad_request", str(exc))


async def _not_listed(request: Request, exc: Exception) -> Response:
    code = exc.code if isinstance(exc, NotListedYet) else "not_listed_yet"
    answer = error(503, code, str(exc))
    answer.headers["Retry-After"] = "1"
    return answer


async def _not_found(request: Request, exc: Exception) -> Response:
    message = exc.args[0] if exc.args else "not found"
    return error(404, "not_found", str(message))


def create_relay_app(store: JobStore, door: Door) -> Starlette:
    """The relay as an ASGI app; the store's life is its owner's (``relay/server.py``).
    ``door`` (the tokens and their throttle) is the relay's one, shared by all its doors."""
    relay = Relay(store)
    sessions = SessionRoutes(store)
    api = [
        Route("/jobs", relay.list_jobs, methods=["GET"]),
        Route("/jobs", relay.refuse_submit, methods=["POST"]),
        Route("/jobs/{job_id}", relay.get_job, methods=["GET"]),
        Route("/jobs/{job_id}", relay.update_job, methods=["PATCH"]),
        Route("/jobs/{job_id}/metrics", relay.metrics, methods=["GET"]),
        Route("/jobs/{job_id}/results", relay.results, methods=["GET"]),
        Route("/jobs/{job_id}/logs", relay.logs, methods=["GET"]),
        Route("/jobs/{job_id}/cancel", relay.cancel, methods=["POST"]),
        Route("/jobs/{job_id}/tags", relay.replace_tags, methods=["PUT"]),
        Route("/backends", relay.backends, methods=["GET"]),
        Route(rest.VERSION, relay.version, methods=["GET"]),
        Route("/stream", relay.stream, methods=["GET"]),
        Route("/sessions/{session_id}", sessions.get_session, methods=["GET"]),
        Route("/sessions/{session_id}", sessions.update_session, methods=["PATCH"]),
        Route("/sessions/{session_id}/close", sessions.cancel_session, methods=["DELETE"]),
        Route("/instances/usage", sessions.usage, methods=["GET"]),
    ]
    app = Starlette(
        routes=[
            Route("/sources", relay.sources, methods=["GET"]),
            Mount(
                "/sources/{source}/api/v1",
                routes=api,
                middleware=[
                    Middleware(
                        ResponseHeader, name=rest.INSTANCE_HEADER, value=source_instance(store)
                    )
                ],
            ),
        ],
        exception_handlers={
            BadQuery: _bad_query,
            LookupError: _not_found,
            NotListedYet: _not_listed,
            ClientDisconnect: client_left,
        },
    )
    app.state.relay = relay
    app.add_middleware(RelayGate, door=door)
    app.add_middleware(
        PagesKeptOut,
        unvouched=lambda headers: door.unvouched(headers.get("authorization", "")),
        refuse=lambda reason: error(403, "forbidden", reason),
    )
    app.add_middleware(RequestFraming)
    return app
