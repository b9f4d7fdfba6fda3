"""JSON shapes of the IBM Quantum REST API v1, built from the service's own records.

Field names, title-case statuses and the error body follow IBM's OpenAPI description (see
``shared/reference/ibm-quantum-api.md``) so that any IBM client reads them unchanged.
"""

from __future__ import annotations

import json
import uuid
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.responses import JSONResponse

from qjob_tui.service.backends import BackendSpec
from qjob_tui.service.db import JobRow
from qjob_tui.service.scheduler import QueueEstimate
from qjob_tui.service.validation import sanitized, stored_json
from qjob_tui.wire import rest

try:
    QISKIT_VERSION = version("qiskit")
except PackageNotFoundError:  # pragma: no cover - qiskit is a core dependency
    QISKIT_VERSION = "unknown"

# Maximum execution time IBM allows a job, in seconds; sent back as the job's ``cost``.
MAX_COST_SECONDS = 10_800


def render(content: Any) -> bytes:
    """Strict JSON of an answer; total: what a strict encoder refuses is served as null."""
    try:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        text = json.dumps(
            sanitized(content), ensure_ascii=False, separators=(",", ":"), default=str
        )
        return text.encode("utf-8", errors="replace")


class SafeJSONResponse(JSONResponse):
    """A JSON answer that never fails to render (see ``render``)."""

    def render(self, content: Any) -> bytes:
        return render(content)


def error(status: int, code: str, message: str, more_info: str = "") -> JSONResponse:
    """An error in IBM's shape: ``{"errors": [{code, message, more_info}], "trace"}``."""
    body = {
        "errors": [{"code": code, "message": message, "more_info": more_info}],
        "trace": uuid.uuid4().hex,
    }
    return SafeJSONResponse(body, status_code=status)


def _usage(row: JobRow) -> dict[str, Any]:
    return rest.usage_body(row.quantum_seconds or 0.0, row.status in rest.FINAL)


def _cost(row: JobRow) -> int:
    """The job's maximum execution time; jobs stored before it was recorded had IBM's ceiling."""
    cost = row.details.get("cost")
    return cost if isinstance(cost, int) and not isinstance(cost, bool) else MAX_COST_SECONDS


def job(row: JobRow, *, with_params: bool) -> dict[str, Any]:
    """One job, as in ``GET /jobs/{id}`` and the list's entries (``JobResponseV3``)."""
    body = rest.job_body(
        job_id=row.id,
        backend=row.backend,
        status=row.status,
        program=row.program,
        created=row.created,
        tags=row.tags,
        name=row.name,
        session_id=row.session_id,
        usage=_usage(row),
        estimated_running_seconds=row.estimated_seconds,
        reason=row.reason,
        reason_code=row.reason_code,
        reason_solution=row.reason_solution,
        private=row.private,
    )
    body["runtime"] = ""
    body["cost"] = _cost(row)
    body["user_id"] = row.details.get("user_id", "local-user")
    if "calibration_id" in row.details:
        body["calibration_id"] = row.details["calibration_id"]
    if with_params and not row.private:
        body["params"] = stored_json(row.params)
    return body


def metrics(row: JobRow, estimate: QueueEstimate) -> dict[str, Any]:
    """``GET /jobs/{id}/metrics``: timestamps, usage and the old API's queue fields."""
    timestamps = {"created": row.created, "queued": row.queued}
    timestamps["running"] = row.running
    timestamps["finished"] = row.finished
    usage = _usage(row)
    body = rest.metrics_body(timestamps, usage, queue_place(estimate))
    body |= {
        "bss": {"seconds": usage["seconds"]},
        "executions": row.shots,
        "qiskit_version": QISKIT_VERSION,
        "circuits_execution_time_ns": (
            round(row.quantum_seconds * 1e9) if row.quantum_seconds is not None else None
        ),
        "caller": row.caller or "",
    }
    for key in ("num_circuits", "num_qubits", "circuit_depths"):
        if key in row.details:
            body[key] = row.details[key]
    return body


def queue_place(estimate: QueueEstimate) -> dict[str, Any]:
    """A queued job's place and times (also, as an extension, on the entries of ``GET
    /jobs``, so that one listing refreshes every place)."""
    return rest.queue_body(
        estimate.position, estimate.estimated_start, estimate.estimated_completion
    )


def device(spec: BackendSpec, queue_length: int) -> dict[str, Any]:
    """One entry of ``GET /backends`` (``devices[]``)."""
    body = rest.device_body(
        name=spec.name,
        state="online",
        reason="",
        queue_length=queue_length,
        qubits=spec.num_qubits,
        simulator=spec.simulator,
    )
    return body | {
        "processor_type": {"family": spec.processor_family or "simulator", "revision": "1"},
        "clops": {"type": "virtual", "value": 0},
        "description": spec.description,
        "physical_qubits": spec.physical_qubits or spec.num_qubits,
        "calibration_id": spec.calibration_id,
    }


def backend_status(spec: BackendSpec, queue_length: int) -> dict[str, Any]:
    """``GET /backends/{name}/status``; note the field is ``length_queue``."""
    return {
        "state": True,
        "status": "active",
        "message": "",
        "length_queue": queue_length,
        "backend_version": "1.0.0",
        "backend_name": spec.name,
    }
