"""The client refuses at once what no retry can mend: a bad URL, port, header value or id.

These reach the HTTP layer only from a script (the command line checks them first); each is one
typed error after one try, never "unreachable after 5 tries", and never quotes the token.
"""

from __future__ import annotations

import pytest

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import InvalidId, InvalidSource
from qjob_tui.api.source import Source


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("http://127.0.0.1:99999", None),
        ("ftp://127.0.0.1:1", None),
        ("http://127.0.0.1:1", "line\nbreak-token"),
        ("http://127.0.0.1:1", "tökén-token"),
    ],
)
async def test_a_request_that_cannot_be_written_is_refused_at_once(
    url: str, token: str | None
) -> None:
    async def no_wait(seconds: float) -> None:
        raise AssertionError("a request that cannot be written was retried")

    async with JobClient(Source.local(url, token), sleep=no_wait) as client:
        with pytest.raises(InvalidSource) as refused:
            await client.jobs()
        assert client.stats.requests <= 1
    assert "token" not in str(refused.value) or token is None or token not in str(refused.value)


@pytest.mark.parametrize("job_id", ["../jobs/x", "x?y=z", "", "a\tb", "..", "x/cancel", "é"])
async def test_an_id_no_server_gives_never_reaches_a_url(job_id: str) -> None:
    async with JobClient(Source.local("http://127.0.0.1:1")) as client:
        for call in (client.job, client.cancel, client.logs, client.results_text):
            with pytest.raises(InvalidId):
                await call(job_id)
        with pytest.raises(InvalidId):
            await client.set_tags(job_id, ["x"])
        with pytest.raises(InvalidId):
            await client.session(job_id)
        assert "_http" not in client.__dict__ or client.stats.requests == 0
