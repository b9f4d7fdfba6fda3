"""An IBM-shaped server on loopback, scripted per test: the IBM-only paths of the client.

It answers as IBM Quantum Platform does (title-case statuses, ``reasonCode``, both error body
shapes, IAM tokens) and can be told to fail: 401 for a revoked token, 429 with Retry-After,
5xx, bodies that are not JSON, slow answers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.service_process import free_port

APIKEY = "ibm-fake-api-key-0123456789"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/abc:inst::"


def jwt(ttl: int = 3600, serial: int = 0) -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{b64({'alg': 'none'})}.{b64({'iat': now, 'exp': now + ttl, 'n': serial})}.sig"


def ibm_job(job_id: str, status: str = "Completed", **state: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "backend": "ibm_torino",
        "state": {"status": status, **state},
        "status": status,
        "program": {"id": "sampler"},
        "created": "2026-11-20T10:00:00.123456Z",
        "runtime": "",
        "cost": 600,
        "tags": ["t1"],
        "session_id": None,
        "usage": {"qpu_charge_time_seconds": 2, "status": "complete"},
        "estimated_running_time_seconds": 3.5,
    }


@dataclass
class Scripted:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    delay: float = 0.0


class FakeIBM:
    """The server and its script; ``requests`` records what the client sent."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.root}/api/v1"
        self.scripts: dict[str, deque[Scripted]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.valid_tokens: set[str] = set()
        self.exchanges = 0
        self.ttl = 3600
        self.jobs = {"job1": ibm_job("job1")}
        self._server: uvicorn.Server | None = None

    def script(self, path: str, *answers: Scripted) -> None:
        self.scripts.setdefault(path, deque()).extend(answers)

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    async def _token(self, request: Request) -> Response:
        form = (await request.body()).decode()
        if f"apikey={APIKEY}" not in form:
            return JSONResponse({"errorMessage": "Provided API key could not be found."}, 400)
        self.exchanges += 1
        token = jwt(self.ttl, self.exchanges)
        self.valid_tokens.add(token)
        return JSONResponse({"access_token": token, "refresh_token": "x", "expires_in": self.ttl})

    async def _api(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        self.requests.append((request.method, path, dict(request.headers)))
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            return JSONResponse(
                {"errors": [{"code": 401, "message": "Unauthorized", "more_info": ""}]}, 401
            )
        queue = self.scripts.get(path)
        if queue:
            answer = queue.popleft()
            if answer.delay:
                await asyncio.sleep(answer.delay)
            if answer.raw is not None:
                return Response(answer.raw, answer.status, headers=answer.headers)
            return JSONResponse(answer.body, answer.status, headers=answer.headers)
        if path == "/jobs":
            jobs = list(self.jobs.values())
            return JSONResponse({"jobs": jobs, "count": len(jobs), "offset": 0, "limit": 200})
        if path == "/backends":
            device = {"name": "ibm_torino", "status": {"name": "online"}, "queue_length": 42}
            return JSONResponse({"devices": [{**device, "qubits": 133}]})
        if path.startswith("/jobs/") and path.count("/") == 2:
            job = self.jobs.get(path.split("/")[2])
            if job is None:
                return JSONResponse({"errors": [{"code": 1291, "message": "Job not found."}]}, 404)
            return JSONResponse(job)
        return JSONResponse({"errors": [{"code": 0, "message": "no such path"}]}, 404)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/identity/token", self._token, methods=["POST"]),
                Route("/api/v1/{path:path}", self._api, methods=["GET", "POST", "PUT", "PATCH"]),
            ]
        )

    @contextmanager
    def running(self) -> Iterator[FakeIBM]:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake IBM server did not start")
            time.sleep(0.02)
        try:
            yield self
        finally:
            self._server.should_exit = True
            thread.join(timeout=10)
