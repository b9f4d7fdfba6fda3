"""``JobClient``: the IBM Quantum REST API v1, for IBM's cloud and the local service alike.

Async, one connection pool per source, every answer turned into ``model`` objects. Nothing else
in qjob-tui speaks HTTP to a job service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from qjob_tui.api import parse
from qjob_tui.api.codec import CodecError, decode_sampler_result, encode_sampler_params
from qjob_tui.api.errors import BadRequest, BadResponse, NotFound, Unsupported, mask
from qjob_tui.api.extractor import (
    EXTRACTOR_PROGRAM,
    ExtractorResult,
    ExtractorResultError,
    decode_extractor_result,
)
from qjob_tui.api.http import Requester, RequestStats, RetryPolicy
from qjob_tui.api.source import LOCAL, Source
from qjob_tui.model import Backend, Job, JobResult, tag_problem

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

PAGE_SIZE = 200


@dataclass(frozen=True)
class JobPage:
    """One page of ``GET /jobs`` and the total the server counted."""

    jobs: tuple[Job, ...]
    count: int
    offset: int
    limit: int


@dataclass(frozen=True)
class InstanceUsage:
    """``GET /instances/usage``: quantum time consumed and the limit, if any."""

    consumed_seconds: float
    limit_seconds: float | None
    limit_reached: bool

    @property
    def remaining_seconds(self) -> float | None:
        if self.limit_seconds is None:
            return None
        return max(self.limit_seconds - self.consumed_seconds, 0.0)


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


class JobClient:
    """The jobs, backends and usage of one source."""

    def __init__(
        self,
        source: Source,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        read_timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.source = source
        self._http = Requester(
            source.name,
            source.url,
            source.make_auth(transport),
            verify=source.verify,
            read_timeout=read_timeout,
            policy=policy,
            transport=transport,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"JobClient({self.source!r})"

    @property
    def stats(self) -> RequestStats:
        return self._http.stats

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> JobClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _bad(self, message: str) -> BadResponse:
        return BadResponse(message, source=self.source.name)

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
        body = await self._http.json("GET", "/jobs", params=params)
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
        return await self._http.json("GET", f"/jobs/{job_id}", params=params)

    async def job(self, job_id: str) -> Job:
        body = await self._job_body(job_id, with_params=False)
        try:
            return parse.job_from_api(body, self.source.name)
        except parse.ShapeError as exc:
            raise self._bad(f"job {job_id}: {exc}") from None

    async def metrics(self, job_id: str) -> parse.JobMetrics:
        body = await self._http.json("GET", f"/jobs/{job_id}/metrics")
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
        response = await self._http.request("GET", f"/jobs/{job_id}/results")
        if response.status_code == 204 or not response.content:
            return None
        return response.text

    async def results(self, job_id: str) -> JobResult | None:
        """A sampler job's result as counts and bitstrings per register."""
        text = await self.results_text(job_id)
        if text is None:
            return None
        try:
            return decode_sampler_result(text)
        except CodecError as exc:
            raise self._bad(f"result of {job_id}: {exc}") from None

    async def extractor_result(self, job_id: str) -> ExtractorResult | None:
        """A random-extractor job's bits, parameters and quality checks."""
        text = await self.results_text(job_id)
        if text is None:
            return None
        try:
            return decode_extractor_result(text)
        except ExtractorResultError as exc:
            raise self._bad(f"result of {job_id}: {exc}") from None

    async def raw_job(self, job_id: str) -> dict[str, Any]:
        """The job and its metrics as the server sent them (without params), for a raw view.

        Every secret this client holds is masked wherever it appears, and fields named like
        credentials (token, api key, password, authorization) are replaced by "***".
        """
        job = await self._job_body(job_id, with_params=False)
        try:
            metrics: Any = await self._http.json("GET", f"/jobs/{job_id}/metrics")
        except NotFound:
            metrics = None
        return redact({"job": job, "metrics": metrics}, self._http.auth.secrets)

    async def logs(self, job_id: str) -> str:
        try:
            response = await self._http.request("GET", f"/jobs/{job_id}/logs")
        except NotFound:
            return ""  # as qiskit-ibm-runtime: no logs is an empty log
        return response.text

    async def cancel(self, job_id: str) -> None:
        await self._http.request("POST", f"/jobs/{job_id}/cancel")

    async def set_tags(self, job_id: str, tags: Sequence[str]) -> tuple[str, ...]:
        """Replace the job's tags (the API has no add or remove) and return them."""
        unique = list(dict.fromkeys(t.strip() for t in tags))
        problem = tag_problem(unique)
        if problem is not None:
            raise BadRequest(problem, source=self.source.name)
        await self._http.request("PUT", f"/jobs/{job_id}/tags", json_body={"tags": unique})
        return tuple(unique)

    async def rename(self, job_id: str, name: str | None) -> None:
        """Set the job's name: a local service extension, refused for IBM sources."""
        if not self.source.can_rename:
            raise Unsupported("IBM Quantum does not support renaming jobs", source=self.source.name)
        await self._http.request("PATCH", f"/jobs/{job_id}", json_body={"name": name})

    async def delete(self, job_id: str) -> None:
        await self._http.request("DELETE", f"/jobs/{job_id}")

    async def submit(
        self,
        circuits: Sequence[QuantumCircuit | str],
        backend: str,
        *,
        shots: int | None = None,
        tags: Sequence[str] = (),
        name: str | None = None,
        program: str = "sampler",
        params: dict[str, Any] | None = None,
    ) -> str:
        """Submit circuits (Qiskit or OpenQASM text) as the runtime does; returns the job id."""
        if params is None:
            params = encode_sampler_params(list(circuits), shots)
        body: dict[str, Any] = {"program_id": program, "backend": backend, "params": params}
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
        body: dict[str, Any] = {"program_id": EXTRACTOR_PROGRAM, "params": dict(params)}
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
        answer = await self._http.json("POST", "/jobs", json_body=body)
        job_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(job_id, str):
            raise self._bad("POST /jobs answered without a job id")
        return job_id

    # --- backends and usage --------------------------------------------------------------

    async def backends(self) -> list[Backend]:
        body = await self._http.json("GET", "/backends")
        try:
            devices = parse.as_object(body, "backend list").get("devices")
            if not isinstance(devices, list):
                raise parse.ShapeError("backend list without 'devices'")
            return [parse.backend_from_api(d, self.source.name) for d in devices]
        except parse.ShapeError as exc:
            raise self._bad(f"GET /backends: {exc}") from None

    async def backend_status(self, name: str) -> Backend:
        body = await self._http.json("GET", f"/backends/{name}/status")
        try:
            return parse.backend_status_from_api(body, name, self.source.name)
        except parse.ShapeError as exc:
            raise self._bad(f"status of {name}: {exc}") from None

    async def backend_properties(
        self, name: str, updated_before: datetime | None = None
    ) -> dict[str, Any] | None:
        """A backend's calibration data, as it was at ``updated_before`` if given."""
        params = {"updated_before": _utc(updated_before)} if updated_before else None
        body = await self._http.json("GET", f"/backends/{name}/properties", params=params)
        if body is not None and not isinstance(body, dict):
            raise self._bad(f"properties of {name}: not an object")
        return body

    async def usage(self) -> InstanceUsage:
        body = await self._http.json("GET", "/instances/usage")
        if not isinstance(body, dict):
            raise self._bad("GET /instances/usage: not an object")
        consumed = body.get("usage_consumed_seconds") or 0
        limit = body.get("usage_limit_seconds") or body.get("usage_allocation_seconds")
        if not isinstance(consumed, int | float) or not isinstance(limit, int | float | None):
            raise self._bad("GET /instances/usage: numbers expected")
        return InstanceUsage(
            consumed_seconds=float(consumed),
            limit_seconds=float(limit) if limit is not None else None,
            limit_reached=bool(body.get("usage_limit_reached", False)),
        )
