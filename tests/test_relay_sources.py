"""``qjob-tui --relay URL`` reads the relay's sources: a relay that does not listen yet is
tried again (it gave up at the first refused connection), and a job service given as a relay
is named as such."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from qjob_tui.api.errors import ApiError, NetworkError
from qjob_tui.api.http import RetryPolicy
from qjob_tui.api.relay import relay_sources
from tests.relay_process import RelayProcess
from tests.service_process import ServiceProcess, free_port


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


def test_a_source_never_read_upstream_is_no_empty_list(tmp_path: Path) -> None:
    """Before anything came from upstream, the relay's reads of that source say so (503, with
    upstream's error once there is one); its stream opens and says how upstream is."""
    dead = f"http://127.0.0.1:{free_port()}"
    relay = RelayProcess(tmp_path / "relay", "--source", dead, "--no-web").start()
    try:
        [name] = [s["name"] for s in httpx.get(f"{relay.root}/sources").json()["sources"]]
        api = f"{relay.root}/sources/{name}/api/v1"

        def failed() -> bool:
            return httpx.get(f"{relay.root}/sources").json()["sources"][0]["failures"] > 0

        for path in ("/jobs", "/backends", "/jobs/any-id", "/instances/usage"):
            answer = httpx.get(api + path)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["retry-after"] == "1"
            [problem] = answer.json()["errors"]
            assert problem["code"] == "not_read_yet"
            assert f"the relay has not read {name} upstream yet" in problem["message"]
        deadline = time.monotonic() + 60
        while not failed():  # the relay's first read upstream has given up
            assert time.monotonic() < deadline
            time.sleep(0.1)
        answer = httpx.get(api + "/jobs")
        assert answer.status_code == 503
        assert "unreachable (ConnectError)" in answer.json()["errors"][0]["message"]
        with httpx.stream("GET", api + "/stream") as events:
            assert events.status_code == 200
    finally:
        relay.stop()
