"""``qjob-tui --relay URL`` reads the relay's sources: a relay that does not listen yet is
tried again (it gave up at the first refused connection), and a job service given as a relay
is named as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from qjob_tui.api.errors import ApiError, NetworkError
from qjob_tui.api.http import RetryPolicy
from qjob_tui.api.relay import relay_sources
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess


class StartsTheRelay(RetryPolicy):
    """A retry policy that starts the relay once the first try was refused."""

    def __init__(self, relay: RelayProcess) -> None:
        super().__init__(max_tries=3)
        self.relay = relay
        self.failures = 0

    def delay(self, attempt: int) -> float:
        self.failures += 1
        if self.relay.proc is None:
            self.relay.start()
        return 0.0


def test_a_relay_that_listens_late_is_found(service: ServiceProcess, tmp_path: Path) -> None:
    relay = RelayProcess(tmp_path / "relay", "--source", service.root, "--no-web")
    policy = StartsTheRelay(relay)
    try:
        sources = relay_sources(relay.root, None, policy=policy)
        assert policy.failures == 1
        assert [source.name for source in sources] == [f"127.0.0.1-{service.port}"]
    finally:
        relay.stop()


def test_a_relay_that_never_listens_is_named_with_the_tries(tmp_path: Path) -> None:
    relay = RelayProcess(tmp_path / "relay")  # never started
    with pytest.raises(NetworkError, match=r"unreachable \(ConnectError\) after 2 tries"):
        relay_sources(relay.root, None, policy=RetryPolicy(max_tries=2, backoff=0.01))


def test_a_job_service_is_no_relay(service: ServiceProcess) -> None:
    with pytest.raises(ApiError, match="it is no relay; if it is a job service, watch it with"):
        relay_sources(service.root, None)
