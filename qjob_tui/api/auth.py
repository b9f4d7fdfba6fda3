"""Credentials for a job service: a fixed bearer token, or IBM Cloud IAM tokens.

IAM is what qiskit-ibm-runtime does (via ``ibm_cloud_sdk_core.IAMTokenManager``): exchange the
API key at ``POST {iam_url}/identity/token``, keep the JWT in memory only, and refresh it at 80 %
of its lifetime (``exp - 0.2 * (exp - iat)``) or when the service answers 401.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import TYPE_CHECKING, Protocol

from qjob_tui.api.errors import BadResponse, NetworkError, NotAuthorized

if TYPE_CHECKING:
    import httpx

GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"
# The API version qiskit-ibm-runtime 0.48+ sends on every request.
IBM_API_VERSION = "2026-04-15"


class Auth(Protocol):
    """What the client asks of credentials."""

    async def headers(self) -> dict[str, str]: ...

    def invalidate(self) -> bool:
        """Forget a token the server refused; True if asking again may help."""
        ...

    @property
    def secrets(self) -> list[str]: ...


class NoAuth:
    """A local service without a token."""

    async def headers(self) -> dict[str, str]:
        return {}

    def invalidate(self) -> bool:
        return False

    @property
    def secrets(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return "NoAuth()"


class BearerAuth:
    """A fixed token, as the local service started with a token expects."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> bool:
        return False

    @property
    def secrets(self) -> list[str]:
        return [self._token]

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


def _jwt_times(token: str) -> tuple[float, float]:
    """``iat`` and ``exp`` of a JWT, read without checking its signature (as IBM's SDK does)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["iat"]), float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        raise BadResponse("the IAM token is not a JWT with iat and exp") from None


class IAMAuth:
    """IBM Cloud IAM: an API key exchanged for short-lived bearer tokens."""

    def __init__(
        self,
        apikey: str,
        iam_url: str,
        instance: str | None,
        *,
        verify: bool = True,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._apikey = apikey
        self._iam_url = iam_url.rstrip("/")
        self._instance = instance
        self._verify = verify
        self._timeout = timeout
        self._transport = transport
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.exchanges = 0

    def __repr__(self) -> str:
        return f"IAMAuth(iam_url={self._iam_url!r}, apikey=***)"

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self._apikey, self._token) if s]

    def invalidate(self) -> bool:
        had = self._token is not None
        self._token = None
        return had

    async def headers(self) -> dict[str, str]:
        token = await self._current()
        headers = {"Authorization": f"Bearer {token}", "IBM-API-Version": IBM_API_VERSION}
        if self._instance:
            headers["Service-CRN"] = self._instance
        return headers

    async def _current(self) -> str:
        async with self._lock:
            if self._token is None or time.time() >= self._refresh_at:
                await self._exchange()
            assert self._token is not None
            return self._token

    async def _exchange(self) -> None:
        import httpx

        url = f"{self._iam_url}/identity/token"
        try:
            async with httpx.AsyncClient(
                verify=self._verify, timeout=self._timeout, transport=self._transport
            ) as client:
                response = await client.post(
                    url,
                    data={
                        "grant_type": GRANT_TYPE,
                        "apikey": self._apikey,
                        "response_type": "cloud_iam",
                    },
                    headers={"Accept": "application/json"},
                )
        except httpx.TransportError as exc:
            raise NetworkError(
                f"IAM at {self._iam_url} unreachable: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise NotAuthorized(f"IAM refused the API key: {_iam_message(response)}")
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError):
            raise BadResponse("IAM answered without an access_token") from None
        if not isinstance(token, str):
            raise BadResponse("IAM answered without an access_token")
        iat, exp = _jwt_times(token)
        self._token = token
        self._refresh_at = exp - 0.2 * (exp - iat)
        self.exchanges += 1


def _iam_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        message = body.get("errorMessage") or body.get("message")
        if isinstance(message, str):
            return message
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}"
