"""The job library's IBM-only paths, against IBM-shaped answers served on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from qjob_tui.api import (
    BadResponse,
    JobClient,
    NetworkError,
    NotAuthorized,
    NotFound,
    RateLimited,
    ServerError,
    Source,
)
from qjob_tui.api.accounts import Account
from qjob_tui.api.http import RetryPolicy
from qjob_tui.model import JobStatus
from tests.ibm_fake import APIKEY, CRN, FakeIBM, Scripted, ibm_job
from tests.service_process import free_port

FAST = RetryPolicy(backoff=0.001, max_backoff=0.002)


@pytest.fixture
def ibm() -> Iterator[FakeIBM]:
    with FakeIBM().running() as server:
        yield server


def ibm_source(ibm: FakeIBM, key: str = APIKEY) -> Source:
    account = Account(
        name="test",
        channel="ibm_quantum_platform",
        token=key,
        instance=CRN,
        url=f"{ibm.root}/experimental/api/v1",
    )
    source = Source.from_account(account, {"IAM_URL": ibm.root})
    # The fake serves the API at /api/v1; experimental URLs are used unchanged.
    return Source(
        name=source.name,
        url=ibm.url,
        kind=source.kind,
        account=account,
        iam=source.iam,
    )


def client(ibm: FakeIBM, sleeps: list[float] | None = None, **kwargs: object) -> JobClient:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return JobClient(ibm_source(ibm), policy=FAST, sleep=sleep, **kwargs)  # type: ignore[arg-type]


def test_region_url_follows_the_crn() -> None:
    for region, url in (
        ("us-east", "https://quantum.cloud.ibm.com/api/v1"),
        ("eu-de", "https://eu-de.quantum.cloud.ibm.com/api/v1"),
    ):
        crn = f"crn:v1:bluemix:public:quantum-computing:{region}:a/abc:inst::"
        account = Account(name="a", channel="ibm_quantum_platform", token="k", instance=crn)
        source = Source.from_account(account, {})
        assert source.url == url
        assert source.iam == "https://iam.cloud.ibm.com"


async def test_iam_headers_and_title_case_statuses(ibm: FakeIBM) -> None:
    ibm.jobs["job2"] = ibm_job("job2", "Running")
    ibm.jobs["job3"] = ibm_job("job3", "Cancelled", reason="ran too long", reasonCode=1305)
    ibm.jobs["job4"] = ibm_job(
        "job4", "Failed", reason="bad gate", reason_code=1517, reason_solution="fix it"
    )
    async with client(ibm) as c:
        page = await c.jobs()
        statuses = {job.id: job.status for job in page.jobs}
        assert statuses == {
            "job1": JobStatus.DONE,
            "job2": JobStatus.RUNNING,
            "job3": JobStatus.ERROR,
            "job4": JobStatus.ERROR,
        }
        failed = await c.job("job4")
        assert failed.error is not None
        assert (failed.error.code, failed.error.message, failed.error.solution) == (
            1517,
            "bad gate",
            "fix it",
        )
        assert (await c.job("job3")).error.code == 1305  # type: ignore[union-attr]
    method, path, headers = ibm.requests[0]
    assert (method, path) == ("GET", "/jobs")
    assert headers["authorization"].startswith("Bearer ")
    assert headers["service-crn"] == CRN
    assert headers["ibm-api-version"] == "2026-04-15"
    assert ibm.exchanges == 1  # the token is reused


async def test_a_401_refreshes_the_token_once(ibm: FakeIBM) -> None:
    async with client(ibm) as c:
        await c.job("job1")
        ibm.revoke_tokens()
        assert (await c.job("job1")).id == "job1"
        assert ibm.exchanges == 2
        ibm.script("/jobs/job1", Scripted(401, {"errors": [{"message": "Unauthorized"}]}))
        ibm.script("/jobs/job1", Scripted(401, {"errors": [{"message": "Unauthorized"}]}))
        with pytest.raises(NotAuthorized, match="Unauthorized"):
            await c.job("job1")
        assert ibm.exchanges == 3


async def test_a_wrong_api_key_is_not_authorized(ibm: FakeIBM) -> None:
    source = ibm_source(ibm, key="not-the-key")
    async with JobClient(source, policy=FAST) as c:
        with pytest.raises(NotAuthorized, match="API key could not be found"):
            await c.jobs()


async def test_the_token_is_refreshed_at_80_percent_of_its_life(ibm: FakeIBM) -> None:
    ibm.ttl = 1  # refresh at exp - 0.2 s: every call after 0.8 s exchanges again
    async with client(ibm) as c:
        await c.job("job1")
        import asyncio

        await asyncio.sleep(0.9)
        await c.job("job1")
    assert ibm.exchanges == 2


@pytest.mark.parametrize(
    "body",
    [
        {"errors": [{"code": 1291, "message": "Job not found.", "more_info": ""}], "trace": "t"},
        {"error": {"code": 1291, "message": "Job not found."}},
    ],
)
async def test_both_error_body_shapes(ibm: FakeIBM, body: dict) -> None:
    ibm.script("/jobs/gone", Scripted(404, body))
    async with client(ibm) as c:
        with pytest.raises(NotFound) as caught:
            await c.job("gone")
    assert str(caught.value) == "test: Job not found."


async def test_5xx_is_retried_then_succeeds(ibm: FakeIBM) -> None:
    sleeps: list[float] = []
    for status in (503, 502, 520):
        ibm.script("/jobs/job1", Scripted(status, {"errors": [{"message": "busy"}]}))
    async with client(ibm, sleeps) as c:
        assert (await c.job("job1")).id == "job1"
        assert c.stats.retries == 3
    assert len(sleeps) == 3


async def test_5xx_gives_up_after_five_tries(ibm: FakeIBM) -> None:
    for _ in range(5):
        ibm.script("/jobs/job1", Scripted(500, {"errors": [{"message": "boom"}]}))
    async with client(ibm, []) as c:
        with pytest.raises(ServerError, match="boom"):
            await c.job("job1")
    assert len([r for r in ibm.requests if r[1] == "/jobs/job1"]) == 5


async def test_429_waits_retry_after_then_succeeds(ibm: FakeIBM) -> None:
    sleeps: list[float] = []
    ibm.script("/jobs", Scripted(429, {"errors": [{"message": "slow down"}]}, {"Retry-After": "7"}))
    async with client(ibm, sleeps) as c:
        page = await c.jobs()
    assert page.count == 1
    assert sleeps == [7.0]


async def test_429_with_a_long_retry_after_is_raised_for_the_caller(ibm: FakeIBM) -> None:
    ibm.script(
        "/jobs", Scripted(429, {"errors": [{"message": "slow down"}]}, {"Retry-After": "120"})
    )
    async with client(ibm, []) as c:
        with pytest.raises(RateLimited) as caught:
            await c.jobs()
    assert caught.value.retry_after == 120.0


@pytest.mark.parametrize(
    "raw", [b'{"jobs": [{"id": "x", "sta', b"<html>502 Bad Gateway</html>", b"[1, 2, 3]"]
)
async def test_malformed_answers_are_bad_responses(ibm: FakeIBM, raw: bytes) -> None:
    ibm.script("/jobs", Scripted(200, raw=raw, headers={"content-type": "application/json"}))
    async with client(ibm) as c:
        with pytest.raises(BadResponse) as caught:
            await c.jobs()
    assert "\n" not in str(caught.value)


async def test_wrong_shapes_are_bad_responses(ibm: FakeIBM) -> None:
    ibm.jobs["odd"] = {**ibm_job("odd"), "created": "yesterday"}
    async with client(ibm) as c:
        with pytest.raises(BadResponse, match="not an ISO 8601 time"):
            await c.job("odd")
        ibm.jobs["odd"] = {**ibm_job("odd"), "state": {"status": "Exploded"}, "status": "Exploded"}
        with pytest.raises(BadResponse, match="unknown status 'Exploded'"):
            await c.job("odd")


async def test_timeouts_are_retried_then_reported(ibm: FakeIBM) -> None:
    for _ in range(5):
        ibm.script("/jobs/job1", Scripted(200, ibm_job("job1"), delay=1.0))
    async with client(ibm, [], read_timeout=0.1) as c:
        with pytest.raises(NetworkError, match="timed out after 5 tries"):
            await c.job("job1")


async def test_connection_refused_is_a_network_error() -> None:
    source = Source.local(f"http://127.0.0.1:{free_port()}")
    async with JobClient(source, policy=FAST) as c:
        with pytest.raises(NetworkError, match="unreachable"):
            await c.jobs()


async def test_secrets_never_appear_in_errors_logs_or_reprs(
    ibm: FakeIBM, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    # A server that echoes the key back in its error must not make us print it.
    ibm.script("/jobs/job1", Scripted(400, {"errors": [{"message": f"bad key {APIKEY}"}]}))
    c = client(ibm)
    try:
        texts += [repr(c), repr(c.source), str(c.source), repr(c.source.account)]
        texts += [repr(c.source.make_auth()), repr(c._http)]
        await c.jobs()
        for failing in ("job1", "gone"):
            try:
                await c.job(failing)
            except Exception as exc:
                texts += [str(exc), repr(exc)]
        tokens = set(ibm.valid_tokens)
    finally:
        await c.aclose()
    async with JobClient(ibm_source(ibm, key=APIKEY + "-wrong"), policy=FAST) as wrong:
        try:
            await wrong.jobs()
        except Exception as exc:
            texts += [str(exc), repr(exc)]
    texts.append(caplog.text)
    blob = "\n".join(texts)
    assert "bad key ***" in blob
    assert APIKEY not in blob
    assert all(token not in blob for token in tokens)
