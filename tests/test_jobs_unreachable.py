"""``JobService(url)`` of a script: a service that does not answer is named by its URL (the
source's name, "local", says nothing to a script that was handed the URL), never with a token."""

from __future__ import annotations

import pytest

from qjob_tui.api.errors import NetworkError
from qjob_tui.jobs import JobService
from tests.service_process import free_port

TOKEN = "a-script-token-1234567890"


def test_a_dead_port_is_named_by_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with JobService(url, TOKEN) as service, pytest.raises(NetworkError) as raised:
        service.jobs()
    said = str(raised.value)
    assert f"{url}/api/v1" in said and "unreachable" in said
    assert TOKEN not in said and TOKEN not in repr(raised.value)
