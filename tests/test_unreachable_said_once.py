"""A source that cannot be reached is named once, wherever its error is shown: on the command
line, in the status line and on the empty job list. A source given as a URL is named by that URL
(``--source http://127.0.0.1:1``), so its error does not repeat it; a named one (``local``) gets
its address once, from the error."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import NetworkError
from qjob_tui.api.http import RetryPolicy
from qjob_tui.api.source import Source
from qjob_tui.cli.sources import resolve_source
from qjob_tui.store.changes import SourceHealth, SourceInfo
from qjob_tui.ui.empty_hint import empty_text
from qjob_tui.ui.status.status_line import status_text
from tests.service_process import free_port
from tests.test_cli_mistakes import _one_line, qjob


def _error(source: Source) -> str:
    async def read() -> str:
        async with JobClient(source, policy=RetryPolicy(max_tries=1)) as client:
            with pytest.raises(NetworkError) as raised:
                await client.jobs(limit=1)
            return str(raised.value)

    return asyncio.run(read())


def _shown(source: Source) -> tuple[str, str]:
    """The status line's and the empty list's words for the source, after a real failure."""
    now = datetime.now(UTC)
    health = SourceHealth(source.name, last_error=_error(source), failures=1, last_error_at=now)
    status = status_text([health], Counter(), False, 2.0, now=now).plain
    info = SourceInfo(name=source.name, url=source.url, local=True, can_rename=True)
    (hint,) = empty_text([info], {source.name: health}, readonly=False)
    return status, hint


def test_a_source_given_as_a_url_is_named_once() -> None:
    root = f"http://127.0.0.1:{free_port()}"
    source = resolve_source(root, env={})
    assert source.name == root
    said = _error(source)
    assert said.count(root) == 1 and "unreachable (ConnectError)" in said
    for shown in _shown(source):
        assert shown.count(root) == 1, shown
        assert "unreachable (ConnectError)" in shown


def test_a_named_source_gets_its_address_once() -> None:
    root = f"http://127.0.0.1:{free_port()}"
    source = Source.local(root)
    said = _error(source)
    assert said.startswith("local: ") and said.count(root) == 1, said
    for shown in _shown(source):
        assert shown.count(root) == 1 and "local" in shown, shown


def test_the_command_line_names_an_unreachable_url_once(tmp_path: Path) -> None:
    root = f"http://127.0.0.1:{free_port()}"
    line = _one_line(qjob("ls", "--source", root, home=tmp_path), 1)
    assert line.count(root) == 1 and "unreachable (ConnectError)" in line, line


def test_one_try_is_said_in_the_singular() -> None:
    said = _error(Source.local(f"http://127.0.0.1:{free_port()}"))
    assert said.endswith("after 1 try"), said
