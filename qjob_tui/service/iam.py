"""A stand-in for IBM Cloud IAM: API key in, short-lived signed JWT out.

qiskit-ibm-runtime (and our own client) exchange an API key at ``POST /identity/token`` and then
send ``Authorization: Bearer <jwt>``; they read ``exp`` and ``iat`` from the JWT to know when to
refresh. Emulating this lets the IBM authentication path be tested end to end on loopback.
The signing key is made fresh at each start, so a restart expires every token, as a real
revocation would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

GRANT_TYPE = "urn:ibm:params:oauth:grant-type:apikey"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and checks HS256 JWTs for one API key."""

    def __init__(self, apikey: str, ttl: float = 3600.0) -> None:
        self._apikey = apikey
        self._secret = secrets.token_bytes(32)
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"TokenIssuer(ttl={self.ttl})"

    def apikey_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(
            candidate.encode("utf-8", "surrogateescape"), self._apikey.encode()
        )

    def issue(self) -> dict[str, object]:
        """The IAM token response for a valid API key."""
        now = int(time.time())
        exp = now + int(self.ttl)
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(
            json.dumps({"iss": "qjob-tui", "sub": "local-user", "iat": now, "exp": exp}).encode()
        )
        signature = _b64(self._sign(f"{header}.{payload}"))
        return {
            "access_token": f"{header}.{payload}.{signature}",
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": int(self.ttl),
            "expiration": exp,
            "scope": "ibm openid",
        }

    def _sign(self, message: str) -> bytes:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).digest()

    def valid(self, token: str) -> bool:
        """True if this issuer signed the token and it has not expired."""
        parts = token.split(".")
        if len(parts) != 3:
            return False
        header, payload, signature = parts
        # One spelling only: the signature as issued, without padding or other characters
        # that a lenient base64 decoder would accept as the same bytes.
        expected = _b64(self._sign(f"{header}.{payload}"))
        if not hmac.compare_digest(signature.encode("utf-8", "surrogateescape"), expected.encode()):
            return False
        try:
            claims = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            return False
        exp = claims.get("exp") if isinstance(claims, dict) else None
        return isinstance(exp, int) and exp > time.time()
