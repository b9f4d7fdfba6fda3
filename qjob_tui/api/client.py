"""``JobClient``: the IBM Quantum REST API v1, for IBM's cloud and the local service alike.

Async, one connection pool per source, every answer turned into ``model`` objects. Nothing else
in qjob-tui speaks HTTP to a job service.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from qjob_tui.api import parse
from qjob_tui.api.errors import (
    BadRequest,
    BadResponse,
    InvalidId,
    NotFound,
    Unsupported,
    mask,
)
from qjob_tui.api.source import IBM, LOCAL, Source
from qjob_tui.api.timeouts import READ_TIMEOUT
from qjob_tui.model import (
    Backend,
    InstanceUsage,
    Job,
    ProgramId,
    Session,
    SessionMode,
    Workload,
    tag_problem,
)
from qjob_tui.text import one_line
from qjob_tui.wire import rest
from qjob_tui.wire.errors import WireError

if TYPE_CHECKING:
    import httpx
    from qiskit.circuit import QuantumCircuit

    from qjob_tui.api.http import Requester, RequestStats, RetryPolicy
    from qjob_tui.api.stream import JobChange, StreamOpened, UpstreamHealth
    from qjob_tui.results import EstimatorResult, ExecutorResult, ExtractorResult, JobResult

PAGE_SIZE = 200
WORKLOAD_PAGE = 50  # the most ``GET /workloads`` gives at once


# The shape of the ids servers give: IBM's job and session ids are 20 letters and digits, other
# servers of the API use UUIDs; backend names are like ``ibm_brisbane`` or ``fake_perth``.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_BACKEND = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def id_problem(value: str, what: str = "job") -> str | None:
    """Why ``value`` is not a job or session id (or backend name), or None if it is one."""
    pattern = _BACKEND if what == "backend" else _ID
    if isinstance(value, str) and pattern.fullmatch(value):
        return None
    shown = repr(one_line(value, 60)) if isinstance(value, str) else type(value).__name__
    kind = "a backend name" if what == "backend" else f"a {what} id"
    return f"{shown} is not {kind}: ids are letters, digits, '-' and '_'"


@dataclass(frozen=True)
class WorkloadPage:
    """One page of ``GET /workloads``, with the cursor to the next page if there is one."""

    workloads: tuple[Workload, ...]
    total: int
    next_cursor: str | None = None


@dataclass(frozen=True)
class JobPage:
    """One page of ``GET /jobs`` and the total the server counted."""

    jobs: tuple[Job, ...]
    count: int
    offset: int
    limit: int


def _utc(moment: datetime) -> str:
    """A datetime for the API; naive times are local time, as qiskit-ibm-runtime treats them."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC).isoformat()


_CREDENTIAL_WORDS = ("token", "apikey", "api_key", "password", "secret", "authorization")


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """A JSON value with the given secrets masked in every string and credential-like fields
    replaced, so a raw view can never show one."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key).lower().replace("-", "_")
            if any(word in name for word in _CREDENTIAL_WORDS) and item not in (None, ""):
                out[str(key)] = "***"
            else:
                out[str(key)] = redact(item, secrets)
        return out
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    if isinstance(value, str):
        return mask(value, list(secrets))
    return value


@dataclass
class _EarlyStats:
    requests: int = 0
    bytes_received: int = 0


class JobClient:
    """The jobs, backends and usage of one source.

    The HTTP side (httpx, its connection pool, TLS context) is built at the first request, not
    here: the dashboard paints its cached history before it asks anything of a server.
    """

    def __init__(
        self,
        source: Source,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        read_timeout: float = READ_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.source = source
        self._progress = progress
        self._transport = transport
        self._policy = policy
        self._read_timeout = read_timeout
        self._sleep = sleep
        self._early = _EarlyStats()  # requests made before the HTTP side was built
        self._asked_quickly = False

    @functools.cached_property
    def _http(self) -> Requester:
        from qjob_tui.api.http import Requester

        source = self.source
        requester = Requester(
            source.name,
            source.url,
            source.make_auth(self._transport),
            verify=source.verify,
            read_timeout=self._read_timeout,
            policy=self._policy,
            transport=self._transport,
            sleep=self._sleep,
            progress=self._progress,
        )
        requester.stats.requests += self._early.requests
        requester.stats.bytes_received += self._early.bytes_received
        return requester

    def __repr__(self) -> str:
        return f"JobClient({self.source!r})"

    @property
    def read_timeout(self) -> float:
        """Seconds one try of a request waits for an answer: past it, the source is silent."""
        return self._read_timeout

    @property
    def stats(self) -> RequestStats:
        return self._http.stats

    @property
    def served_by(self) -> str | None:
        """The instance id of the qjob-tui service that sent the last answer, if it said."""
        return self._http.served_by

    @property
    def clock_offset(self) -> timedelta:
        """How far the server's clock is ahead of this machine's (from its ``Date`` headers)."""
        if "_http" not in self.__dict__:
            return timedelta(0)
        return self._http.clock.offset

    async def identity(self) -> str:
        """Who this server is, to key caches and state by: for IBM Quantum the API URL and
        the instance CRN; for a qjob-tui service its ``instance_id`` (``GET /version``); for
        any other server of the API its URL."""
        source = self.source
        if source.kind == IBM or "_http" not in self.__dict__:
            quick = await asyncio.to_thread(self.quick_identity)
            if quick is not None:
                return quick
        # Not IBM Quantum's own host: whatever route reached it (an IBM account's URL, a
        # proxy), a qjob-tui service is known by its instance id.
        otherwise = self._ibm_identity() if source.kind == IBM else f"url {source.url}"
        try:
            body = await self._http.json("GET", rest.VERSION)
        except (NotFound, Unsupported):
            return otherwise
        except BadResponse:
            body = None  # the header below still says who answered
        instance = body.get("instance_id") if isinstance(body, dict) else None
        if isinstance(body, dict) and body.get("service") == "qjob-tui":
            if not isinstance(instance, str) or not instance:
                raise self._bad("GET /version: a qjob-tui service without an instance_id")
        else:
            instance = self.served_by
        return f"qjob-tui {instance}" if instance else otherwise

    def _ibm_identity(self) -> str:
        source = self.source
        instance = source.account.instance if source.account is not None else None
        return f"ibm {source.url} {instance or ''}".strip()

    def quick_identity(self) -> str | None:
        """``identity`` where it comes without httpx: IBM Quantum's from the account (at IBM
        Quantum's own hosts), a qjob-tui service's from one plain ``GET /version``
        (``api/version_probe.py``); None
        where the full client must ask. Blocks: call it in a thread, before the first paint."""
        source = self.source
        if source.kind == IBM and source.at_ibm_cloud:
            return self._ibm_identity()
        from qjob_tui.api import version_probe

        if (
            self._asked_quickly  # once: after no sure answer, the full client asks
            or "_http" in self.__dict__
            or source.iam is not None
            or not version_probe.applies(source.url)
        ):
            return None
        self._asked_quickly = True
        headers = {"Authorization": f"Bearer {source.token}"} if source.token else {}
        instance, received = version_probe.qjob_tui_instance(source.url, headers)
        self._early.requests += 1
        self._early.bytes_received += received
        return None if instance is None else f"qjob-tui {instance}"

    async def aclose(self) -> None:
        if "_http" in self.__dict__:  # never built, nothing to close
            await self._http.aclose()

    async def __aenter__(self) -> JobClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _bad(self, message: str) -> BadResponse:
        return BadResponse(message, source=self.source.name)

    def _id(self, value: str, what: str = "job") -> str:
        """An id checked before it goes into a URL path (``rest.path`` escapes it): it can never
        name another resource."""
        problem = id_problem(value, what)
        if problem is not None:
            raise InvalidId(problem, source=self.source.name)
        return value

    # --- jobs ----------------------------------------------------------------------------

    async def jobs(
        self,
        *,
        limit: int = PAGE_SIZE,
        offset: int = 0,
        pending: bool | None = None,
        backend: str | None = None,
        program: str | None = None,
        tags: Sequence[str] = (),
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        descending: bool = True,
        session_id: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first unless ``descending`` is False."""
        params: list[tuple[str, str | int]] = [("exclude_params", "true"), ("limit", limit)]
        if offset:
            params.append(("offset", offset))
        if pending is not None:
            params.append(("pending", "true" if pending else "false"))
        for key, value in (("backend", backend), ("program", program), ("session_id", session_id)):
            if value:
                params.append((key, value))
        params += [("tags", tag) for tag in tags]
        if created_after is not None:
            params.append(("created_after", _utc(created_after)))
        if created_before is not None:
            params.append(("created_before", _utc(created_before)))
        if not descending:
            params.append(("sort", "ASC"))
        body = await self._http.json("GET", rest.JOBS, params=params)
        try:
            page = parse.as_object(body, "job list")
            raw = page.get("jobs")
            if not isinstance(raw, list):
                raise parse.ShapeError("job list without 'jobs'")
            jobs = tuple(parse.job_from_api(item, self.source.name) for item in raw)
            count = page.get("count")
            total = count if isinstance(count, int) else offset + len(jobs)
        except parse.ShapeError as exc:
            raise self._bad(f"GET /jobs: {exc}") from None
        return JobPage(jobs=jobs, count=total, offset=offset, limit=limit)

    async def iter_jobs(self, *, page_size: int = PAGE_SIZE, **filters: Any) -> AsyncIterator[Job]:
        """Every job matching the filters, page after page, as qiskit-ibm-runtime pages them."""
        offset = int(filters.pop("offset", 0))
        while True:
            page = await self.jobs(limit=page_size, offset=offset, **filters)
            for job in page.jobs:
                yield job
            offset += len(page.jobs)
            if not page.jobs or offset >= page.count:
                return

    async def _job_body(self, job_id: str, *, with_params: bool) -> Any:
        params = None if with_params else {"exclude_params": "true"}
        return await self._http.json(
            "GET", rest.path(rest.JOB, job_id=self._id(job_id)), params=params
        )

    async def job(self, job_id: str) -> Job:
        body = await self._job_body(job_id, with_params=False)
        try:
            return parse.job_from_api(body, self.source.name)
        except parse.ShapeError as exc:
            raise self._bad(f"job {job_id}: {exc}") from None

    async def metrics(self, job_id: str) -> parse.JobMetrics:
        body = await self._http.json("GET", rest.path(rest.JOB_METRICS, job_id=self._id(job_id)))
        try:
            return parse.metrics_from_api(body)
        except parse.ShapeError as exc:
            raise self._bad(f"metrics of {job_id}: {exc}") from None

    async def job_details(self, job_id: str) -> Job:
        """The job with its steps, queue place and usage from its metrics."""
        job = await self.job(job_id)
        return parse.with_metrics(job, await self.metrics(job_id))

    async def params(self, job_id: str) -> dict[str, Any] | None:
        """The params the job was submitted with, where the service returns them."""
        body = await self._job_body(job_id, with_params=True)
        params = body.get("params") if isinstance(body, dict) else None
        return params if isinstance(params, dict) else None

    async def results_text(self, job_id: str) -> str | None:
        """The raw result JSON text, or None while there is no final result."""
        response = await self._http.request(
            "GET", rest.path(rest.JOB_RESULTS, job_id=self._id(job_id))
        )
        if response.status_code == 204 or not response.content:
            return None
        return response.text

    async def results(self, job_id: str) -> JobResult | None:
        """A sampler job's result as counts and bitstrings per register."""
        text = await self.results_text(job_id)
        if text is None:
            return None
        from qjob_tui.wire.sampler_results import decode_sampler_result

        try:
            # Decoding a large result takes CPU seconds: never on the event loop.
            return await asyncio.to_thread(decode_sampler_result, text)
        except WireError as exc:
            raise self._bad(f"result of {job_id}: {exc}") from None

    async def estimator_result(self, job_id: str) -> EstimatorResult | None:
        """An estimator job's expectation values and standard errors, per pub."""
        text = await self.results_text(job_id)
        if text is None:
            return None
        from qjob_tui.wire.estimator_results import decode_estimator_result

        try:
            # Like a sampler result, a large one costs CPU: never on the event loop.
            return await asyncio.to_thread(decode_estimator_result, text)
        except WireError as exc:
            raise self._bad(f"result of {job_id}: {exc}") from None

    async def executor_result(
        self, job_id: str
    ) -> JobResult | EstimatorResult | ExecutorResult | None:
        """An executor job's result: as its client-side Sampler or Estimator reads it, or the
        QuantumProgram's arrays summarized."""
        text = await self.results_text(job_id)
        if text is None:
            return None
        from qjob_tui.wire.executor_results import decode_executor_result

        try:
            return await asyncio.to_thread(decode_executor_result, text)
        except WireError as exc:
            raise self._bad(f"result of {job_id}: {exc}") from None

    async def extractor_result(self, job_id: str) -> ExtractorResult | None:
        """A random-extractor job's bits, parameters and quality checks."""
        text = await self.results_text(job_id)
        if text is None:
            return None
        from qjob_tui.wire.extractor import decode_extractor_result

        try:
            return await asyncio.to_thread(decode_extractor_result, text)
        except WireError as exc:
            raise self._bad(f"result of {job_id}: {exc}") from None

    async def raw_job(self, job_id: str) -> dict[str, Any]:
        """The job and its metrics as the server sent them (without params), for a raw view.

        Every secret this client holds is masked wherever it appears, and fields named like
        credentials (token, api key, password, authorization) are replaced by "***".
        """
        job = await self._job_body(job_id, with_params=False)
        try:
            metrics: Any = await self._http.json(
                "GET", rest.path(rest.JOB_METRICS, job_id=self._id(job_id))
            )
        except NotFound:
            metrics = None
        return redact({"job": job, "metrics": metrics}, self._http.auth.secrets)

    async def logs(self, job_id: str) -> str:
        try:
            response = await self._http.request(
                "GET", rest.path(rest.JOB_LOGS, job_id=self._id(job_id))
            )
        except NotFound:
            return ""  # as qiskit-ibm-runtime: no logs is an empty log
        return response.text

    async def cancel(self, job_id: str) -> None:
        await self._http.request("POST", rest.path(rest.JOB_CANCEL, job_id=self._id(job_id)))

    async def set_tags(self, job_id: str, tags: Sequence[str]) -> tuple[str, ...]:
        """Replace the job's tags (the API has no add or remove) and return them."""
        unique = list(dict.fromkeys(t.strip() for t in tags))
        problem = tag_problem(unique)
        if problem is not None:
            raise BadRequest(problem, source=self.source.name)
        await self._http.request(
            "PUT", rest.path(rest.JOB_TAGS, job_id=self._id(job_id)), json_body={"tags": unique}
        )
        return tuple(unique)

    async def rename(self, job_id: str, name: str | None) -> None:
        """Set the job's name: a local service extension, refused for IBM sources."""
        if not self.source.can_rename:
            raise Unsupported("IBM Quantum does not support renaming jobs", source=self.source.name)
        await self._http.request(
            "PATCH", rest.path(rest.JOB, job_id=self._id(job_id)), json_body={"name": name}
        )

    async def delete(self, job_id: str) -> None:
        await self._http.request("DELETE", rest.path(rest.JOB, job_id=self._id(job_id)))

    async def submit(
        self,
        circuits: Sequence[QuantumCircuit | str],
        backend: str,
        *,
        shots: int | None = None,
        tags: Sequence[str] = (),
        name: str | None = None,
        program: str = ProgramId.SAMPLER,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> str:
        """Submit circuits (Qiskit or OpenQASM text) as the runtime does; returns the job id."""
        if params is None:
            from qjob_tui.wire.sampler_params import encode_sampler_params

            params = encode_sampler_params(list(circuits), shots)
        body: dict[str, Any] = {"program_id": program, "backend": backend, "params": params}
        if session_id is not None:
            body["session_id"] = session_id
        return await self._post_job(body, tags, name)

    async def submit_extractor(
        self,
        params: Mapping[str, Any],
        *,
        backend: str | None = None,
        tags: Sequence[str] = (),
        name: str | None = None,
    ) -> str:
        """Submit a random-extractor job (params from ``extractor_params``); returns its id.

        Only the local service runs extractor jobs: IBM retired its extractor service. Without
        a backend the service picks the queue (its exact simulator's).
        """
        if self.source.kind != LOCAL:
            raise Unsupported(
                "IBM Quantum retired its random-number extractor service; "
                "run extractor jobs on the local service",
                source=self.source.name,
            )
        body: dict[str, Any] = {
            "program_id": str(ProgramId.RANDOM_EXTRACTOR),
            "params": dict(params),
        }
        if backend is not None:
            body["backend"] = backend
        return await self._post_job(body, tags, name)

    async def _post_job(self, body: dict[str, Any], tags: Sequence[str], name: str | None) -> str:
        """``POST /jobs`` with the tags and name checked first; returns the new job's id."""
        unique = list(dict.fromkeys(tags))
        if unique:
            problem = tag_problem(unique)
            if problem is not None:
                raise BadRequest(problem, source=self.source.name)
            body["tags"] = unique
        if name is not None:
            if not self.source.can_rename:
                raise Unsupported("IBM Quantum jobs have no name", source=self.source.name)
            body["name"] = name
        answer = await self._http.json("POST", rest.JOBS, json_body=body)
        job_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(job_id, str):
            raise self._bad("POST /jobs answered without a job id")
        return job_id

    def changes(self) -> AsyncIterator[StreamOpened | JobChange | UpstreamHealth]:
        """The server's push stream of job changes, where it offers one (``api/stream.py``)."""
        from qjob_tui.api.stream import job_changes

        return job_changes(self._http, self.source.name)

    # --- backends and usage --------------------------------------------------------------

    async def backends(self) -> list[Backend]:
        body = await self._http.json("GET", rest.BACKENDS)
        try:
            devices = parse.as_object(body, "backend list").get("devices")
            if not isinstance(devices, list):
                raise parse.ShapeError("backend list without 'devices'")
            return [parse.backend_from_api(d, self.source.name) for d in devices]
        except parse.ShapeError as exc:
            raise self._bad(f"GET /backends: {exc}") from None

    async def backend_status(self, name: str) -> Backend:
        body = await self._http.json(
            "GET", rest.path(rest.BACKEND_STATUS, name=self._id(name, "backend"))
        )
        try:
            return parse.backend_status_from_api(body, name, self.source.name)
        except parse.ShapeError as exc:
            raise self._bad(f"status of {name}: {exc}") from None

    async def backend_properties(
        self, name: str, updated_before: datetime | None = None
    ) -> dict[str, Any] | None:
        """A backend's calibration data, as it was at ``updated_before`` if given."""
        params = {"updated_before": _utc(updated_before)} if updated_before else None
        body = await self._http.json(
            "GET", rest.path(rest.BACKEND_PROPERTIES, name=self._id(name, "backend")), params=params
        )
        if body is not None and not isinstance(body, dict):
            raise self._bad(f"properties of {name}: not an object")
        return body

    async def usage(self) -> InstanceUsage:
        """The instance's quantum time this period and its limit (IBM's or ``serve
        --usage-limit``'s)."""
        body = await self._http.json("GET", rest.USAGE)
        try:
            return parse.usage_from_api(body)
        except parse.ShapeError as exc:
            raise self._bad(f"GET /instances/usage: {exc}") from None

    # --- sessions and batches ------------------------------------------------------------

    async def open_session(
        self, backend: str, mode: SessionMode | str = SessionMode.BATCH, max_ttl: int | None = None
    ) -> str:
        """``POST /sessions`` as qiskit-ibm-runtime's ``Session``/``Batch`` do; returns its id."""
        body: dict[str, Any] = {"mode": SessionMode(mode).value, "backend": backend}
        if max_ttl is not None:
            body["max_ttl"] = max_ttl
        answer = await self._http.json("POST", rest.SESSIONS, json_body=body)
        session_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(session_id, str):
            raise self._bad("POST /sessions answered without a session id")
        return session_id

    async def session(self, session_id: str) -> Session:
        body = await self._http.json(
            "GET", rest.path(rest.SESSION, session_id=self._id(session_id, "session"))
        )
        try:
            return parse.session_from_api(body, self.source.name)
        except parse.ShapeError as exc:
            raise self._bad(f"session {session_id}: {exc}") from None

    async def close_session(self, session_id: str) -> None:
        """Stop the session accepting jobs; the jobs it has still run (``Session.close()``)."""
        await self._http.request(
            "PATCH",
            rest.path(rest.SESSION, session_id=self._id(session_id, "session")),
            json_body={"accepting_jobs": False},
        )

    async def cancel_session(self, session_id: str) -> None:
        """Close the session now: its queued jobs will not run (``Session.cancel()``)."""
        await self._http.request(
            "DELETE", rest.path(rest.SESSION_CLOSE, session_id=self._id(session_id, "session"))
        )

    async def session_jobs(self, session_id: str) -> list[Job]:
        """Every job of a session or batch, newest first (``GET /jobs?session_id=``)."""
        return [job async for job in self.iter_jobs(session_id=session_id)]

    async def workloads(
        self,
        *,
        mine: bool = False,
        mode: str | None = None,
        limit: int = WORKLOAD_PAGE,
        cursor: str | None = None,
    ) -> WorkloadPage:
        """One page of ``GET /workloads`` (jobs and sessions in one list), newest first.

        Raises Unsupported where the server has no workloads list.
        """
        params: list[tuple[str, str | int]] = [("limit", limit), ("sort", "-createdAt")]
        if mine:
            params.append(("user", "me"))
        if mode:
            params.append(("mode", mode))
        if cursor:
            params.append(("next", cursor))
        try:
            body = await self._http.json("GET", rest.WORKLOADS, params=params)
        except NotFound:
            message = "this server has no workloads list"
            raise Unsupported(message, source=self.source.name) from None
        try:
            page = parse.as_object(body, "workload list")
            raw = page.get("workloads")
            if not isinstance(raw, list):
                raise parse.ShapeError("workload list without 'workloads'")
            items = tuple(parse.workload_from_api(item, self.source.name) for item in raw)
            total = page.get("total_count")
            after = page.get("next")
            href = after.get("href") if isinstance(after, dict) else after
        except parse.ShapeError as exc:
            raise self._bad(f"GET /workloads: {exc}") from None
        return WorkloadPage(
            workloads=items,
            total=total if isinstance(total, int) else len(items),
            next_cursor=_next_cursor(href),
        )

    async def own_user(self) -> str | None:
        """The account's own user id, as the server reports it on the account's newest
        workload (``user=me``); None where the server does not say who submitted."""
        try:
            page = await self.workloads(mine=True, limit=1)
        except Unsupported:
            return None
        for item in page.workloads:
            if item.user_id:
                return item.user_id
        return None


def _next_cursor(href: object) -> str | None:
    """The ``next`` cursor of a workloads page, from its href or as given."""
    if not isinstance(href, str) or not href:
        return None
    if "next=" not in href:
        return href
    import httpx

    query = httpx.URL(href).params
    return query.get("next") or None
