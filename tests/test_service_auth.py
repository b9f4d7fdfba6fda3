"""Bearer tokens and the IAM emulation of the local service."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service_process import ServiceProcess

GRANT = "urn:ibm:params:oauth:grant-type:apikey"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("secured")
    proc = ServiceProcess(
        data, env={"QJOB_TUI_SERVICE_TOKEN": "s3cret-token", "QJOB_TUI_IAM_APIKEY": "my-api-key"}
    ).start()
    yield proc
    proc.stop()


def test_requests_without_a_token_are_401(secured: ServiceProcess) -> None:
    response = httpx.get(f"{secured.url}/jobs")
    assert response.status_code == 401
    message = response.json()["errors"][0]["message"]
    assert message.startswith("missing bearer token; this service takes an IAM API key")
    assert "QJOB_TUI_IAM_APIKEY" in message and "QJOB_TUI_SERVICE_TOKEN" in message


def test_a_wrong_token_is_401(secured: ServiceProcess) -> None:
    for header in ("Bearer wrong", "Basic s3cret-token", "Bearer a.b.c"):
        response = httpx.get(f"{secured.url}/jobs", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_the_configured_token_is_accepted(secured: ServiceProcess) -> None:
    headers = {"Authorization": "Bearer s3cret-token"}
    assert httpx.get(f"{secured.url}/jobs", headers=headers).status_code == 200


def test_iam_exchanges_an_api_key_for_a_jwt(secured: ServiceProcess) -> None:
    response = httpx.post(
        f"{secured.root}/identity/token",
        data={"grant_type": GRANT, "apikey": "my-api-key", "response_type": "cloud_iam"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.json()
    parts = body["access_token"].split(".")
    assert len(parts) == 3
    claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    assert claims["exp"] > claims["iat"]
    assert body["expires_in"] == claims["exp"] - claims["iat"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(f"{secured.url}/jobs", headers=headers).status_code == 200
    tampered = body["access_token"][:-2] + (
        "AA" if not body["access_token"].endswith("AA") else "BB"
    )
    bad = httpx.get(f"{secured.url}/jobs", headers={"Authorization": f"Bearer {tampered}"})
    assert bad.status_code == 401


def test_iam_refuses_a_wrong_api_key_or_grant(secured: ServiceProcess) -> None:
    wrong_key = httpx.post(
        f"{secured.root}/identity/token", data={"grant_type": GRANT, "apikey": "nope"}
    )
    assert wrong_key.status_code == 400
    assert "API key could not be found" in wrong_key.json()["errorMessage"]
    wrong_grant = httpx.post(
        f"{secured.root}/identity/token", data={"grant_type": "password", "apikey": "my-api-key"}
    )
    assert wrong_grant.status_code == 400


def test_iam_is_off_unless_asked_for(service: ServiceProcess) -> None:
    response = httpx.post(f"{service.root}/identity/token", data={"grant_type": GRANT})
    assert response.status_code == 404
