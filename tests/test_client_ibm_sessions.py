"""The IBM-only shapes of sessions and usage (IAM, allocations, transitional states), against
IBM-shaped answers served on loopback; the local service's own are in test_client_sessions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qjob_tui.api import BadResponse
from qjob_tui.model import SessionState
from qjob_tui.store import JobStore, StoreConfig
from tests.ibm_fake import FakeIBM, Scripted
from tests.test_client_ibm import client


@pytest.fixture
def ibm() -> Iterator[FakeIBM]:
    with FakeIBM().running() as server:
        yield server


async def test_an_allocation_is_the_limit_and_the_period_is_read(ibm: FakeIBM) -> None:
    ibm.script(
        "/instances/usage",
        Scripted(
            200,
            {
                "instance_id": "crn:v1:x",
                "plan_id": "open",
                "usage_period": {
                    "start_time": "2026-11-01T00:00:00Z",
                    "end_time": "2026-12-01T00:00:00Z",
                },
                "usage_consumed_seconds": 550,
                "usage_allocation_seconds": 600,
            },
        ),
    )
    async with client(ibm) as api:
        usage = await api.usage()
    assert usage.limit_seconds == 600 and usage.remaining_seconds == 50
    assert usage.low and not usage.limit_reached and usage.instance == "crn:v1:x"
    assert usage.period_end is not None and usage.period_end.month == 12


async def test_transitional_session_states(ibm: FakeIBM) -> None:
    ibm.script(
        "/sessions/s1",
        Scripted(200, {"id": "s1", "state": "pending_closed", "mode": "batch"}),
        Scripted(200, {"id": "s1", "state": "warped", "mode": "batch"}),
    )
    async with client(ibm) as api:
        session = await api.session("s1")
        assert session.state is SessionState.ACTIVE and not session.accepting_jobs
        with pytest.raises(BadResponse, match="unknown state"):
            await api.session("s1")


async def test_the_store_shows_ibm_usage_without_a_limit(ibm: FakeIBM) -> None:
    ibm.script(
        "/instances/usage",
        Scripted(200, {"usage_consumed_seconds": 42, "usage_limit_reached": False}),
    )
    store = JobStore([client(ibm)], StoreConfig(use_cache=False))
    await store.start(poll=False)
    try:
        changes = await store.poll_sessions(usage=True)
        assert changes.usage and changes.usage[0][1].consumed_seconds == 42
        assert store.own_user("test") is None  # this server has no workloads list
        asked = sum(1 for _, path, _ in ibm.requests if path == "/workloads")
        await store.poll_sessions(usage=True)
        assert sum(1 for _, path, _ in ibm.requests if path == "/workloads") == asked == 1
    finally:
        await store.stop()
