"""The local job service's web application: the IBM Quantum REST API v1 in Starlette.

Handlers validate input, answer in IBM's shapes and leave all blocking work to threads (SQLite)
or worker processes (Qiskit). Every request needs the bearer token when one is configured, or an
IAM-issued token when IAM emulation is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from qjob_tui.model import tag_problem
from qjob_tui.service import views
from qjob_tui.service.backends import BackendSpec, configuration, default_backends, properties
from qjob_tui.service.db import FINAL, Database, JobQuery, JobRow
from qjob_tui.service.iam import GRANT_TYPE, TokenIssuer
from qjob_tui.service.reference import INSTALL_HINT, RUNTIME_PROGRAMS, runtime_available
from qjob_tui.service.scheduler import Scheduler, to_utc
from qjob_tui.service.shots import count_shots

log = logging.getLogger("qjob_tui.service")

PROGRAMS = ("sampler", "random-extractor", "estimator", "executor")
# Programs that need no quantum backend: "backend" is optional and picks the queue they wait in.
CLASSICAL_PROGRAMS = frozenset({"random-extractor"})
MAX_NAME_LENGTH = 120
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class ServiceConfig:
    """How one instance of the service runs."""

    data_dir: Path
    token: str | None = None
    iam_apikey: str | None = None
    iam_ttl: float = 3600.0
    latency_scale: float = 1.0
    workers: int = 2
    demo: bool = False
    backends: dict[str, BackendSpec] = field(default_factory=dict)
    # Quantum seconds the instance may use; past it, submits get IBM's 409 (None: no limit).
    usage_limit: float | None = None
    # Who submits: the one user of a local service, on each job and session.
    user_id: str = "local-user"


class BadRequest(Exception):
    """Input the client must fix; becomes a 400 in IBM's error shape."""


class NotFound(Exception):
    """An unknown job or backend; becomes a 404 in IBM's error shape."""


class SessionRefused(Exception):
    """A job for a closed session; becomes a 409, as IBM answers."""


class AuthMiddleware:
    """Rejects API requests without the configured bearer token or a live IAM token."""

    def __init__(self, app: ASGIApp, token: str | None, issuer: TokenIssuer | None) -> None:
        self.app = app
        self.token = token
        self.issuer = issuer

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
        allowed = (
            scheme.lower() == "bearer"
            and bool(credential)
            and (
                (self.token is not None and credential == self.token)
                or (self.issuer is not None and self.issuer.valid(credential))
            )
        )
        if not allowed:
            message = (
                "missing bearer token" if not credential else "invalid or expired bearer token"
            )
            response = views.error(401, "unauthorized", message)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class JobService:
    """Route handlers over one database and one scheduler."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.backends = config.backends or default_backends(config.latency_scale)
        self.db = Database(config.data_dir / "jobs.sqlite3")
        self.scheduler = Scheduler(self.db, self.backends, workers=config.workers)
        self.issuer = TokenIssuer(config.iam_apikey, config.iam_ttl) if config.iam_apikey else None
        self._demo: asyncio.Task[None] | None = None

    # --- helpers -------------------------------------------------------------------------

    async def _job_or_404(self, request: Request, *, with_params: bool = False) -> JobRow:
        job_id = request.path_params["job_id"]
        row = await asyncio.to_thread(self.db.get, job_id, with_params=with_params)
        if row is None:
            raise NotFound(f"Job not found: {job_id}")
        return row

    def _backend_or_404(self, request: Request) -> BackendSpec:
        name = request.path_params["name"]
        spec = self.backends.get(name)
        if spec is None:
            raise NotFound(f"Backend not found: {name}")
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
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        return body

    # --- jobs ----------------------------------------------------------------------------

    async def list_jobs(self, request: Request) -> Response:
        query = parse_job_query(request)
        exclude = _flag(request, "exclude_params", default=False)
        rows, count = await asyncio.to_thread(self.db.list, query, with_params=not exclude)
        return JSONResponse(
            {
                "jobs": [views.job(row, with_params=not exclude) for row in rows],
                "count": count,
                "offset": query.offset,
                "limit": query.limit,
            }
        )

    async def submit(self, request: Request) -> Response:
        body = await self._json_body(request)
        program = body.get("program_id")
        if program not in PROGRAMS:
            raise BadRequest(f"unknown program_id {program!r}; this service runs {list(PROGRAMS)}")
        if program in RUNTIME_PROGRAMS and not runtime_available():
            raise BadRequest(f"program {program!r} needs qiskit-ibm-runtime: {INSTALL_HINT}")
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
            raise BadRequest(
                f"unknown backend {backend!r}; available: {', '.join(sorted(self.backends))}"
            )
        params = body.get("params")
        if not isinstance(params, dict):
            raise BadRequest("params must be a JSON object")
        tags = _valid_tags(body.get("tags") or [])
        name = _valid_name(body.get("name"))
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
        row.details = {"user_id": self.config.user_id}
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

    async def _session_for(self, session_id: object, backend: str) -> str | None:
        """The session a new job joins, checked: it must exist and accept jobs there."""
        if session_id is None:
            return None
        if not isinstance(session_id, str):
            raise BadRequest("session_id must be a string")
        session = self.scheduler.sessions.get(session_id)
        if session is None:
            raise BadRequest(f"unknown session_id {session_id!r}")
        if session.backend is not None and backend != session.backend:
            raise BadRequest(
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
        body = await asyncio.to_thread(read, row.id) if row.status == "Completed" else None
        if body is None and row.private and row.status == "Completed":
            raise NotFound(f"The results of private job {row.id} were read once and are gone.")
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
        if "tags" not in body:
            raise BadRequest('the body must be {"tags": [...]}')
        tags = _valid_tags(body["tags"])
        await asyncio.to_thread(self.db.set_tags, row.id, tags)
        return Response(status_code=204)

    async def update_job(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        body = await self._json_body(request)
        unknown = set(body) - {"name"}
        if unknown or not body:
            raise BadRequest('only the job\'s name can be changed: send {"name": ...}')
        await asyncio.to_thread(self.db.set_name, row.id, _valid_name(body["name"]))
        return Response(status_code=204)

    async def delete_job(self, request: Request) -> Response:
        row = await self._job_or_404(request)
        # As IBM: a queued job is cancelled and deleted; a running one must finish first.
        if row.status == "Queued":
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
        return JSONResponse({"devices": devices})

    async def backend_status(self, request: Request) -> Response:
        spec = self._backend_or_404(request)
        return JSONResponse(views.backend_status(spec, self.scheduler.queue_length(spec.name)))

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

    async def identity_token(self, request: Request) -> Response:
        if self.issuer is None:
            return views.error(404, "not_found", "IAM emulation is off (start with --iam-apikey)")
        # IAM takes application/x-www-form-urlencoded; parsed here to avoid python-multipart.
        raw = (await request.body()).decode("utf-8", errors="replace")
        form = {key: values[-1] for key, values in parse_qs(raw).items()}
        if form.get("grant_type") != GRANT_TYPE:
            return JSONResponse(
                {"errorCode": "BXNIM0308E", "errorMessage": "Grant type is invalid."},
                status_code=400,
            )
        apikey = form.get("apikey")
        if not isinstance(apikey, str) or not self.issuer.apikey_matches(apikey):
            return JSONResponse(
                {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."},
                status_code=400,
            )
        return JSONResponse(self.issuer.issue())

    # --- life cycle ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
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
            await self.scheduler.stop()
            self.db.close()


def _flag(request: Request, name: str, *, default: bool | None) -> bool | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(f"{name} must be true or false, not {value!r}")


def parse_job_query(request: Request) -> JobQuery:
    """The filters of ``GET /jobs``, validated as IBM's API does."""
    params = request.query_params
    try:
        limit = int(params.get("limit", 200))
    except ValueError:
        limit = 200
    if not 1 <= limit <= 200:
        limit = 200  # IBM: "no error occurs and the default value is used instead"
    try:
        offset = int(params.get("offset", 0))
    except ValueError:
        raise BadRequest(f"offset must be an integer, not {params.get('offset')!r}") from None
    if offset < 0:
        raise BadRequest("offset must be 0 or more")
    sort = params.get("sort", "DESC").upper()
    if sort not in ("ASC", "DESC"):
        raise BadRequest(f"sort must be ASC or DESC, not {params.get('sort')!r}")
    times = {}
    for key in ("created_after", "created_before"):
        value = params.get(key)
        if value:
            try:
                times[key] = to_utc(value)
            except (ValueError, OverflowError):
                raise BadRequest(f"{key} must be an ISO 8601 date-time, not {value!r}") from None
    return JobQuery(
        limit=limit,
        offset=offset,
        pending=_flag(request, "pending", default=None),
        backend=params.get("backend") or None,
        program=params.get("program") or None,
        session_id=params.get("session_id") or None,
        tags=tuple(t for t in params.getlist("tags") if t),
        created_after=times.get("created_after"),
        created_before=times.get("created_before"),
        descending=sort == "DESC",
    )


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
        raise BadRequest(
            f"unknown calibration_id {str(calibration_id)[:60]!r} for backend {spec.name}; {known}"
        )


def _valid_tags(tags: object) -> list[str]:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadRequest("tags must be a list of strings")
    unique = list(dict.fromkeys(tags))
    problem = tag_problem(unique)
    if problem is not None:
        raise BadRequest(problem)
    return unique


def _valid_name(name: object) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise BadRequest("name must be a string")
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"a job name can be at most {MAX_NAME_LENGTH} characters")
    if _CONTROL.search(name):
        raise BadRequest("a job name cannot contain control characters")
    return name.strip() or None


async def _bad_request(request: Request, exc: Exception) -> Response:
    return views.error(400, "bad_request", str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return views.error(404, "not_found", str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "error")
    return views.error(status, "http_error", str(detail))


async def _session_refused(request: Request, exc: Exception) -> Response:
    return views.error(409, "session_closed", str(exc))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return views.error(500, "internal_error", "internal error; see the service's log")


def create_app(config: ServiceConfig) -> Starlette:
    """The service as an ASGI app; its lifespan starts and stops the scheduler."""
    from qjob_tui.service.session_routes import SessionRoutes
    from qjob_tui.service.workload_routes import WorkloadRoutes

    service = JobService(config)
    sessions = SessionRoutes(service)
    workloads = WorkloadRoutes(service)
    api = [
        Route("/jobs", service.list_jobs, methods=["GET"]),
        Route("/jobs", service.submit, methods=["POST"]),
        Route("/jobs/{job_id}", service.get_job, methods=["GET"]),
        Route("/jobs/{job_id}", service.update_job, methods=["PATCH"]),
        Route("/jobs/{job_id}", service.delete_job, methods=["DELETE"]),
        Route("/jobs/{job_id}/metrics", service.metrics, methods=["GET"]),
        Route("/jobs/{job_id}/results", service.results, methods=["GET"]),
        Route("/jobs/{job_id}/logs", service.logs, methods=["GET"]),
        Route("/jobs/{job_id}/cancel", service.cancel, methods=["POST"]),
        Route("/jobs/{job_id}/tags", service.replace_tags, methods=["PUT"]),
        Route("/backends", service.list_backends, methods=["GET"]),
        Route("/backends/{name}/status", service.backend_status, methods=["GET"]),
        Route("/backends/{name}/configuration", service.backend_configuration, methods=["GET"]),
        Route("/backends/{name}/properties", service.backend_properties, methods=["GET"]),
        Route("/instances/usage", service.usage, methods=["GET"]),
        Route("/sessions", sessions.create, methods=["POST"]),
        Route("/sessions/{session_id}", sessions.details, methods=["GET"]),
        Route("/sessions/{session_id}", sessions.update, methods=["PATCH"]),
        Route("/sessions/{session_id}/close", sessions.cancel, methods=["DELETE"]),
        Route("/workloads", workloads.list, methods=["GET"]),
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
        exception_handlers={
            BadRequest: _bad_request,
            NotFound: _not_found,
            SessionRefused: _session_refused,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.service = service
    app.add_middleware(AuthMiddleware, token=config.token, issuer=service.issuer)
    return app
