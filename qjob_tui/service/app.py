"""The local job service's web application: the IBM Quantum REST API v1 in Starlette.

Handlers validate input, answer in IBM's shapes and leave all blocking work to threads (SQLite)
or worker processes (Qiskit). Every request needs the bearer token when one is configured, or an
IAM-issued token when IAM emulation is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from qjob_tui.edge.connections import RequestFraming
from qjob_tui.edge.logins import FailedLogins, TooManyAttempts, client_address, same_secret
from qjob_tui.edge.response_header import ResponseHeader
from qjob_tui.edge.same_site import PagesKeptOut
from qjob_tui.model import ProgramId, name_problem, tag_problem
from qjob_tui.service import views
from qjob_tui.service.backends import BackendSpec, configuration, default_backends, properties
from qjob_tui.service.cluster.status import annotate_backend_status, annotate_device
from qjob_tui.service.db import FINAL, JobRow
from qjob_tui.service.iam import GRANT_TYPE, TokenIssuer
from qjob_tui.service.identity import SERVICE, instance_id
from qjob_tui.service.limits import JobLimits
from qjob_tui.service.middleware import DEFAULT_MAX_BODY, BodyLimit, BodyTooLarge, ErrorBoundary
from qjob_tui.service.pages import PageCache
from qjob_tui.service.pools import dask_pool
from qjob_tui.service.reference import INSTALL_HINT, RUNTIME_PROGRAMS, runtime_available
from qjob_tui.service.route_errors import InvalidRequest, NoSuchResource, SessionRefused
from qjob_tui.service.scheduler import Scheduler
from qjob_tui.service.shots import count_shots
from qjob_tui.service.stream import FeedDatabase, stream_route
from qjob_tui.service.validation import InvalidInput, parse_body
from qjob_tui.wire import rest
from qjob_tui.wire.job_query import JobQuery, QueryRefused, read_flag, read_job_query, shown

log = logging.getLogger("qjob_tui.service")

PROGRAMS = tuple(program.value for program in ProgramId)
# IBM programs this service knows of but cannot run, and why (NoiseLearner, NoiseLearnerV3).
NOT_OFFERED = {
    "noise-learner": "qiskit-ibm-runtime has no local runner for the noise learner "
    "(its NoiseLearnerV3 refuses local mode too), so it runs only on IBM's devices"
}
# Programs that need no quantum backend: "backend" is optional and picks the queue they wait in.
CLASSICAL_PROGRAMS = frozenset({"random-extractor"})
# The fields of IBM's submit body (qiskit-ibm-runtime's ``program_run``), the legacy provider's
# hub/group/project, and this service's ``name``; anything else is refused, so that a typo
# ("tag", "backend_name") is not silently ignored.
SUBMIT_FIELDS = frozenset(
    {
        "program_id",
        "params",
        "backend",
        "runtime",
        "log_level",
        "session_id",
        "tags",
        "cost",
        "start_session",
        "session_time",
        "private",
        "calibration_id",
        "name",
        "hub",
        "group",
        "project",
    }
)
# Bodies above this size are parsed in a thread, off the event loop.
_INLINE_BODY = 256 * 1024
# Every JSON answer renders totally (see views.render), including the routes added later.
JSONResponse = views.SafeJSONResponse


@dataclass
class ServiceConfig:
    """How one instance of the service runs."""

    data_dir: Path
    token: str | None = None
    iam_apikey: str | None = None
    iam_ttl: float = 3600.0
    latency_scale: float = 1.0
    workers: int = 2
    # Worker processes started with the service, so that its first jobs need not wait for
    # Qiskit's import (``--warm-workers``); 0: each starts with the first job it runs.
    warm_workers: int = 0
    demo: bool = False
    dask: str | None = None  # --dask: tcp://HOST:PORT of a Dask scheduler, or local:N
    backends: dict[str, BackendSpec] = field(default_factory=dict)
    max_body: int = DEFAULT_MAX_BODY
    # What one page of GET /jobs may hold; a page of big jobs holds fewer than ``limit``.
    max_page_bytes: int = 8 * 1024 * 1024
    limits: JobLimits = field(default_factory=JobLimits)
    # Quantum seconds the instance may use; past it, submits get IBM's 409 (None: no limit).
    usage_limit: float | None = None
    # Who submits: the one user of a local service, on each job and session.
    user_id: str = "local-user"


class AuthMiddleware:
    """Rejects API requests without the configured bearer token or a live IAM token; wrong
    ones from one address wait longer each time (``connections.FailedLogins``)."""

    def __init__(
        self, app: ASGIApp, token: str | None, issuer: TokenIssuer | None, logins: FailedLogins
    ) -> None:
        self.app = app
        self.token = token
        self.issuer = issuer
        self.logins = logins

    def hint(self) -> str:
        """How a client gets in: the ways this service was started with."""
        ways = []
        if self.issuer is not None:
            ways.append(
                "an IAM API key exchanged at /identity/token (qjob-tui reads $QJOB_TUI_IAM_APIKEY)"
            )
        if self.token is not None:
            ways.append("the service's token (qjob-tui reads $QJOB_TUI_SERVICE_TOKEN)")
        return "this service takes " + ", or ".join(ways)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.token is None and self.issuer is None):
            await self.app(scope, receive, send)
            return
        if scope["path"].rstrip("/").endswith("/identity/token"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, credential = auth.partition(" ")

        def valid() -> bool:
            return scheme.lower() == "bearer" and (
                (self.token is not None and same_secret(credential, self.token))
                or (self.issuer is not None and self.issuer.valid(credential))
            )

        try:
            allowed = bool(credential) and await self.logins.check(client_address(scope), valid)
        except TooManyAttempts as exc:
            await _too_many(exc)(scope, receive, send)
            return
        if not allowed:
            message = (
                "missing bearer token" if not credential else "invalid or expired bearer token"
            )
            response = views.error(401, "unauthorized", f"{message}; {self.hint()}")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _too_many(exc: TooManyAttempts) -> JSONResponse:
    """A credential turned away unheard: try again later, never "invalid"."""
    response = views.error(429, "too_many_requests", str(exc))
    response.headers.update(exc.headers)
    return response


class JobRoutes:
    """Route handlers over one database and one scheduler."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.backends = config.backends or default_backends(config.latency_scale)
        self.db = FeedDatabase(config.data_dir / "jobs.sqlite3")
        wake = lambda: self.scheduler.wake()  # noqa: E731  (the scheduler is made next)
        self.cluster = (
            dask_pool(config.dask, wake, config.limits.memory_limit_bytes) if config.dask else None
        )
        self.scheduler = Scheduler(
            self.db,
            self.backends,
            workers=config.workers,
            limits=config.limits,
            pool=self.cluster,
            warm_workers=config.warm_workers,
        )
        self.db.feed.estimate = self.scheduler.estimate  # the /stream events' metrics
        self.db.feed.waiting = self.scheduler.waiting  # places that move with a job's start
        self.issuer = TokenIssuer(config.iam_apikey, config.iam_ttl) if config.iam_apikey else None
        self.logins = FailedLogins()  # wrong tokens and API keys, per address
        self.pages = PageCache()
        self._building: dict[object, asyncio.Future[bytes]] = {}
        # Threads of their own for list pages, so reads queue behind reads only.
        self._reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qjob-reads")
        self._demo: asyncio.Task[None] | None = None
        self.instance_id = instance_id(config.data_dir)

    # --- helpers -------------------------------------------------------------------------

    async def _job_or_404(self, request: Request, *, with_params: bool = False) -> JobRow:
        job_id = request.path_params["job_id"]
        row = await asyncio.to_thread(self.db.get, job_id, with_params=with_params)
        if row is None:
            raise NoSuchResource(f"Job not found: {job_id}")
        return row

    def _backend_or_404(self, request: Request) -> BackendSpec:
        name = request.path_params["name"]
        spec = self.backends.get(name)
        if spec is None:
            raise NoSuchResource(f"Backend not found: {name}")
        return spec

    def _classical_backend(self) -> str:
        """The queue of a job without circuits: the exact simulator's, which is never slow."""
        if "basic_simulator" in self.backends:
            return "basic_simulator"
        simulators = [name for name, spec in self.backends.items() if spec.simulator]
        return (simulators or list(self.backends))[0]

    @staticmethod
    async def _json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > _INLINE_BODY:
            body = await asyncio.to_thread(parse_body, raw)
        else:
            body = parse_body(raw)
        if not isinstance(body, dict):
            raise InvalidRequest("the request body must be a JSON object")
        return body

    # --- jobs ----------------------------------------------------------------------------

    async def list_jobs(self, request: Request) -> Response:
        query = parse_job_query(request)
        exclude = query.exclude_params
        key = (query, exclude)
        generation = self.db.version()
        body = self.pages.get(key, generation)
        if body is None:
            # Identical queries in flight share one build (fifty pollers after one write).
            building = self._building.get((key, generation))
            if building is None:
                loop = asyncio.get_running_loop()
                build = functools.partial(self._list_page, query, exclude)
                building = loop.run_in_executor(
                    self._reads, self.pages.page, key, generation, build
                )
                self._building[(key, generation)] = building
                building.add_done_callback(
                    lambda _, k=(key, generation): self._building.pop(k, None)
                )
            body = await asyncio.shield(building)
        return Response(body, media_type="application/json")

    def _list_page(self, query: JobQuery, exclude: bool) -> bytes:
        """One rendered page of ``GET /jobs`` (blocking: runs in the reads' threads)."""
        rows, count = self.db.list(
            query, with_params=not exclude, max_bytes=self.config.max_page_bytes
        )
        return views.render(
            {
                "jobs": [self._listed(row, exclude) for row in rows],
                "count": count,
                "offset": query.offset,
                "limit": query.limit,
            }
        )

    def _listed(self, row: JobRow, exclude: bool) -> dict[str, Any]:
        """One entry of a listing; a queued job's with its place (so a poller needs no
        request per queued job to keep places fresh)."""
        body = views.job(row, with_params=not exclude)
        if row.status == rest.QUEUED:
            body.update(views.queue_place(self.scheduler.estimate(row)))
        return body

    async def submit(self, request: Request) -> Response:
        body = await self._json_body(request)
        unknown = sorted(set(body) - SUBMIT_FIELDS)
        if unknown:
            raise InvalidRequest(
                f"unknown field {shown(unknown[0])} in the job; the fields are "
                + ", ".join(sorted(SUBMIT_FIELDS))
            )
        program = body.get("program_id")
        if isinstance(program, str) and program in NOT_OFFERED:
            raise InvalidRequest(
                f"program_id {shown(program)} is not offered by this service: "
                f"{NOT_OFFERED[program]}"
            )
        if program not in PROGRAMS:
            raise InvalidRequest(
                f"unknown program_id {shown(program)}; this service runs {list(PROGRAMS)}"
            )
        if program in RUNTIME_PROGRAMS and not runtime_available():
            raise InvalidRequest(
                f"program {shown(program)} needs qiskit-ibm-runtime: {INSTALL_HINT}"
            )
        if self.config.usage_limit is not None:
            consumed = await asyncio.to_thread(self.db.quantum_seconds)
            if consumed >= self.config.usage_limit:
                return views.error(
                    409,
                    "usage_limit_exceeded",
                    f"Usage exceeds instance limit: {consumed:.1f} of "
                    f"{self.config.usage_limit:g} seconds used.",
                )
        backend = body.get("backend")
        if backend is None and isinstance(body.get("session_id"), str):
            known = self.scheduler.sessions.get(body["session_id"])
            backend = known.backend if known is not None else None
        if backend is None and program in CLASSICAL_PROGRAMS:
            backend = self._classical_backend()
        if not isinstance(backend, str) or backend not in self.backends:
            raise InvalidRequest(
                f"unknown backend {shown(backend)}; available: {', '.join(sorted(self.backends))}"
            )
        params = body.get("params")
        if not isinstance(params, dict):
            raise InvalidRequest("params must be a JSON object")
        tags = _valid_tags(body.get("tags") or [])
        name = _valid_name(body.get("name"))
        cost = self._cost(body.get("cost"))
        _optional(body, "private", bool)
        for text_field in ("runtime", "log_level", "calibration_id"):
            _optional(body, text_field, str)
        session = await self._session_for(body.get("session_id"), backend)
        calibration = body.get("calibration_id")
        _check_calibration(self.backends[backend], calibration)
        row = JobRow.new(
            program,
            backend,
            json.dumps(params),
            shots=count_shots(program, params),
            tags=tags,
            name=name,
            caller=request.headers.get("x-qx-client-application"),
            private=bool(body.get("private", False)),
            session_id=session,
        )
        row.details = {"cost": cost, "user_id": self.config.user_id}
        if calibration is not None:
            row.details["calibration_id"] = calibration
        row = await self.scheduler.submit(row)
        answer: dict[str, Any] = {"id": row.id, "backend": row.backend}
        if row.session_id is not None:
            answer["session_id"] = row.session_id
        if row.private:
            answer["private"] = True
        if calibration is not None:
            answer["calibration_id"] = calibration
        return JSONResponse(answer)

    def _cost(self, cost: object) -> int:
        """The job's maximum execution time in seconds (IBM's ``cost``), within the ceiling."""
        limits = self.config.limits
        if cost is None:
            return limits.default_seconds
        if isinstance(cost, bool) or not isinstance(cost, int):
            raise InvalidRequest("cost (max_execution_time) must be a whole number of seconds")
        if not 1 <= cost <= limits.max_seconds:
            raise InvalidRequest(
                f"cost (max_execution_time) must be within 1..{limits.max_seconds} seconds on "
                f"this service, not {cost}"
            )
        return cost

    async def _session_for(self, session_id: object, backend: str) -> str | None:
        """The session a new job joins, checked: it must exist and accept jobs there."""
        if session_id is None:
            return None
        if not isinstance(session_id, str):
            raise InvalidRequest("session_id must be a string")
        session = self.scheduler.sessions.get(session_id)
        if session is None:
            raise InvalidRequest(f"unknown session_id {shown(session_id)}")
        if session.backend is not None and backend != session.backend:
            raise InvalidRequest(
                f"session {session_id} runs on {session.backend}; its jobs cannot run on {backend}"
            )
        problem = self.scheduler.sessions.admit(session)
        if problem is not None:
            raise SessionRefused(problem)
        return session_id

    async def get_job(self, request: Request) -> Response:
        exclude = _flag(request, "exclude_params", default=False)
        row = await self._job_or_404(request, with_params=not exclude)
        return JSONResponse(views.job(row, with_params=not exclude))

    async def metrics(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        return JSONResponse(views.metrics(row, self.scheduler.estimate(row)))

    async def results(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        read = self.db.take_result if row.private else self.db.result
        body = await asyncio.to_thread(read, row.id) if row.status == rest.COMPLETED else None
        if body is None and row.private and row.status == rest.COMPLETED:
            # IBM answers a private job's later reads with no result: the client's ``result()``
            # then gives an empty answer rather than an error.
            return Response(b"", status_code=200, media_type="application/json")
        if body is None:
            return Response(status_code=204)
        return Response(body, media_type="application/json")

    async def logs(self, request: Request) -> Response:
        row = await self._job_or_404(request, with_params=True)
        return PlainTextResponse(row.log)

    async def cancel(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        if row.status in FINAL or not await self.scheduler.cancel(row):
            return views.error(409, "invalid_state", "Job is in non cancellable status.")
        return Response(status_code=204)

    async def replace_tags(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        body = await self._json_body(request)
        if "tags" not in body or set(body) != {"tags"}:
            raise InvalidRequest('the body must be {"tags": [...]} and nothing else')
        tags = _valid_tags(body["tags"])
        await asyncio.to_thread(self.db.set_tags, row.id, tags)
        return Response(status_code=204)

    async def update_job(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        body = await self._json_body(request)
        unknown = set(body) - {"name"}
        if unknown or not body:
            raise InvalidRequest('only the job\'s name can be changed: send {"name": ...}')
        await asyncio.to_thread(self.db.set_name, row.id, _valid_name(body["name"]))
        return Response(status_code=204)

    async def delete_job(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        # As IBM: a queued job is cancelled and deleted; a running one must finish first.
        if row.status == rest.QUEUED:
            await self.scheduler.cancel(row)
        elif row.status not in FINAL:
            return views.error(
                409, "invalid_state", "Job must be in a terminal state to be deleted."
            )
        await asyncio.to_thread(self.db.delete, row.id)
        return Response(status_code=204)

    # --- backends and usage ----------------------------------------------------------------

    async def list_backends(self, request: Request) -> Response:
        devices = [
            views.device(spec, self.scheduler.queue_length(name))
            for name, spec in self.backends.items()
        ]
        if self.cluster is not None:
            devices = [annotate_device(device, self.cluster.status()) for device in devices]
        return JSONResponse({"devices": devices})

    async def backend_status(self, request: Request) -> Response:
        spec = self._backend_or_404(request)
        body = views.backend_status(spec, self.scheduler.queue_length(spec.name))
        if self.cluster is not None:
            body = annotate_backend_status(body, self.cluster.status())
        return JSONResponse(body)

    async def health(self, request: Request) -> Response:
        """Whether the service can run jobs now: degraded while its Dask cluster is away or
        its disk refuses writes (then ``reason`` says how much room is left, and where). A
        disk known full is tried again as this is asked, so space that came back shows."""
        failing = await self.scheduler.writer.recheck()
        storage = {"status": "degraded", "reason": str(failing)} if failing else {}
        if self.cluster is None:
            return JSONResponse({"status": "ok", "engine": "processes", **storage})
        cluster = self.cluster.status()
        return JSONResponse(
            {"status": "ok" if cluster.connected else "degraded", **cluster.as_json(), **storage}
        )

    async def backend_configuration(self, request: Request) -> Response:
        spec = self._backend_or_404(request)
        _check_calibration(spec, request.query_params.get("calibration_id"))
        return JSONResponse(configuration(spec))

    async def backend_properties(self, request: Request) -> Response:
        spec = self._backend_or_404(request)
        _check_calibration(spec, request.query_params.get("calibration_id"))
        return JSONResponse(properties(spec))

    async def usage(self, request: Request) -> Response:
        consumed = await asyncio.to_thread(self.db.quantum_seconds)
        limit = self.config.usage_limit
        now = datetime.now(UTC)
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return JSONResponse(
            {
                "instance_id": "local",
                "plan_id": "local",
                "usage_period": {"start_time": start.isoformat(), "end_time": now.isoformat()},
                "usage_consumed_seconds": round(consumed, 6),
                "usage_limit_seconds": limit,
                "usage_allocation_seconds": None,
                "usage_limit_reached": limit is not None and consumed >= limit,
                "usage_remaining_seconds": (
                    round(max(limit - consumed, 0.0), 6) if limit is not None else None
                ),
            }
        )

    # --- IAM -----------------------------------------------------------------------------

    async def version(self, request: Request) -> Response:
        """Who answers: clients key their caches by ``instance_id`` (see service/identity)."""
        from qjob_tui import __version__

        body = {"service": SERVICE, "version": __version__, "instance_id": self.instance_id}
        return JSONResponse(body)

    async def identity_token(self, request: Request) -> Response:
        if self.issuer is None:
            return views.error(
                404, "not_found", "IAM emulation is off (start it with $QJOB_TUI_IAM_APIKEY set)"
            )
        # IAM takes application/x-www-form-urlencoded; parsed here to avoid python-multipart.
        raw = (await request.body()).decode("utf-8", errors="replace")
        form = {key: values[-1] for key, values in parse_qs(raw).items()}
        if form.get("grant_type") != GRANT_TYPE:
            return JSONResponse(
                {"errorCode": "BXNIM0308E", "errorMessage": "Grant type is invalid."},
                status_code=400,
            )
        apikey = form.get("apikey")
        issuer = self.issuer
        try:
            right = isinstance(apikey, str) and await self.logins.check(
                client_address(request.scope), lambda: issuer.apikey_matches(apikey)
            )
        except TooManyAttempts as exc:
            return _too_many(exc)
        if not right:
            return JSONResponse(
                {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."},
                status_code=400,
            )
        return JSONResponse(self.issuer.issue())

    # --- life cycle ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.cluster is not None:
            await self.cluster.start()
        await self.scheduler.start()
        if self.config.demo:
            from qjob_tui.service.demo import run_demo

            self._demo = asyncio.create_task(run_demo(self.scheduler), name="demo")
        try:
            yield
        finally:
            if self._demo is not None:
                self._demo.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._demo
            await self.db.feed.close()
            await self.scheduler.stop()
            if self.cluster is not None:
                await self.cluster.stop()
            self._reads.shutdown(wait=True, cancel_futures=True)
            self.db.close()


def _flag(request: Request, name: str, *, default: bool | None) -> bool | None:
    flag = read_flag(name, request.query_params.get(name))
    if isinstance(flag, QueryRefused):
        raise InvalidRequest(flag.message)
    return default if flag is None else flag


def _optional(body: dict[str, Any], name: str, kind: type) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise InvalidRequest(f"{name} must be a {'boolean' if kind is bool else 'string'}")


def parse_job_query(request: Request) -> JobQuery:
    """The filters of ``GET /jobs``, by the rules the relay reads them with too."""
    query = read_job_query(request.query_params.multi_items())
    if isinstance(query, QueryRefused):
        raise InvalidRequest(query.message)
    return query


def _check_calibration(spec: BackendSpec, calibration_id: object) -> None:
    """Refuse a calibration id the backend never had (each device has one: its snapshot's)."""
    if calibration_id is None or calibration_id == "":
        return
    if not isinstance(calibration_id, str) or calibration_id != spec.calibration_id:
        known = (
            f"its calibration is {spec.calibration_id}"
            if spec.calibration_id
            else ("it has no calibrations")
        )
        raise InvalidRequest(
            f"unknown calibration_id {str(calibration_id)[:60]!r} for backend {spec.name}; {known}"
        )


def _valid_tags(tags: object) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidRequest("tags must be a list of strings")
    unique = list(dict.fromkeys(tags))
    problem = tag_problem(unique)
    if problem is not None:
        raise InvalidRequest(problem)
    return unique


def _valid_name(name: object) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidRequest("name must be a string")
    problem = name_problem(name)
    if problem is not None:
        raise InvalidRequest(problem)
    return name.strip() or None


async def _bad_request(request: Request, exc: Exception) -> Response:
    status = exc.status if isinstance(exc, InvalidInput) else 400
    return views.error(status, "bad_request", str(exc))


async def _too_large(request: Request, exc: Exception) -> Response:
    from qjob_tui.service.middleware import too_large

    return too_large(exc.limit if isinstance(exc, BodyTooLarge) else DEFAULT_MAX_BODY)


async def _not_found(request: Request, exc: Exception) -> Response:
    return views.error(404, "not_found", str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "error")
    return views.error(status, "http_error", str(detail))


async def _session_refused(request: Request, exc: Exception) -> Response:
    return views.error(409, "session_closed", str(exc))


def create_app(config: ServiceConfig) -> Starlette:
    """The service as an ASGI app; its lifespan starts and stops the scheduler."""
    from qjob_tui.service.session_routes import SessionRoutes
    from qjob_tui.service.workload_routes import WorkloadRoutes

    service = JobRoutes(config)
    sessions = SessionRoutes(service)
    workloads = WorkloadRoutes(service)
    api = [
        Route(rest.JOBS, service.list_jobs, methods=["GET"]),
        Route(rest.JOBS, service.submit, methods=["POST"]),
        Route(rest.JOB, service.get_job, methods=["GET"]),
        Route(rest.JOB, service.update_job, methods=["PATCH"]),
        Route(rest.JOB, service.delete_job, methods=["DELETE"]),
        Route(rest.JOB_METRICS, service.metrics, methods=["GET"]),
        Route(rest.JOB_RESULTS, service.results, methods=["GET"]),
        Route(rest.JOB_LOGS, service.logs, methods=["GET"]),
        Route(rest.JOB_CANCEL, service.cancel, methods=["POST"]),
        Route(rest.JOB_TAGS, service.replace_tags, methods=["PUT"]),
        Route(rest.BACKENDS, service.list_backends, methods=["GET"]),
        Route(rest.BACKEND_STATUS, service.backend_status, methods=["GET"]),
        Route(rest.BACKEND_CONFIGURATION, service.backend_configuration, methods=["GET"]),
        Route(rest.BACKEND_PROPERTIES, service.backend_properties, methods=["GET"]),
        Route(rest.USAGE, service.usage, methods=["GET"]),
        Route("/health", service.health, methods=["GET"]),
        Route(rest.VERSION, service.version, methods=["GET"]),
        Route(rest.SESSIONS, sessions.create, methods=["POST"]),
        Route(rest.SESSION, sessions.details, methods=["GET"]),
        Route(rest.SESSION, sessions.update, methods=["PATCH"]),
        Route(rest.SESSION_CLOSE, sessions.cancel, methods=["DELETE"]),
        Route(rest.WORKLOADS, workloads.list, methods=["GET"]),
        Route(rest.STREAM, stream_route(service.db.feed), methods=["GET"]),
    ]
    routes = [
        Mount("/api/v1", routes=api),
        # qiskit-ibm-runtime uses a URL unchanged only if it contains "experimental".
        Mount("/experimental/api/v1", routes=api),
        Route("/identity/token", service.identity_token, methods=["POST"]),
    ]
    from starlette.exceptions import HTTPException

    app = Starlette(
        routes=routes,
        lifespan=service.lifespan,
        # No handler for Exception: Starlette re-raises after one, and uvicorn then closes
        # the connection. ErrorBoundary answers unexpected errors instead.
        exception_handlers={
            InvalidInput: _bad_request,
            NoSuchResource: _not_found,
            SessionRefused: _session_refused,
            HTTPException: _http_error,
            BodyTooLarge: _too_large,
        },
    )
    app.state.service = service
    # The last added is the outermost: errors of every layer reach the boundary.
    app.add_middleware(
        AuthMiddleware, token=config.token, issuer=service.issuer, logins=service.logins
    )
    open_door = config.token is None and service.issuer is None
    app.add_middleware(
        PagesKeptOut,
        unvouched=lambda headers: open_door,
        refuse=lambda reason: views.error(403, "forbidden", reason),
    )
    app.add_middleware(BodyLimit, limit=config.max_body)
    app.add_middleware(ErrorBoundary, data_dir=config.data_dir)
    instance = service.instance_id
    app.add_middleware(ResponseHeader, name=rest.INSTANCE_HEADER, value=lambda scope: instance)
    app.add_middleware(RequestFraming)
    return app
