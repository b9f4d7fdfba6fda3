"""The relay's SSH door judges keys through the relay's one ``Door``, by the rules of every other
door (``edge.logins.FailedLogins``): a failing address's keys are judged one at a time after its
wait, a flood of them waits only a few, and the right key clears the address's record.

Real asyncssh on both ends, on loopback; before, the SSH door had a throttle of its own with no
cap, so a flood of wrong keys from one address queued waits without end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qjob_tui.edge.logins import MOST_WAITING, FailedLogins
from qjob_tui.relay.door import Door, RelayTokens
from qjob_tui.relay.viewer_dashboard import SessionCount
from qjob_tui.ssh.options import SshOptions
from qjob_tui.ssh.server import serve_ssh
from tests.service_process import free_port
from tests.test_e2e_ssh import write_key

asyncssh = pytest.importorskip("asyncssh")


@dataclass
class SshDoor:
    port: int
    logins: FailedLogins
    viewer: Path
    stranger: Path

    async def login(self, key: Path) -> bool:
        """Whether the key is let in (the connection is closed at once)."""
        try:
            async with asyncssh.connect(
                "127.0.0.1", self.port, username="lab", known_hosts=None, agent_path=None,
                client_keys=[asyncssh.read_private_key(str(key))], preferred_auth="publickey",
            ):  # fmt: skip
                return True
        except asyncssh.PermissionDenied:
            return False


@contextlib.asynccontextmanager
async def ssh_door(tmp_path: Path, logins: FailedLogins) -> AsyncIterator[SshDoor]:
    """The relay's SSH door alone (no relay behind it: these logins open no session)."""
    viewer, stranger = write_key(tmp_path / "viewer"), write_key(tmp_path / "stranger")
    (tmp_path / "viewers").write_bytes(viewer.with_suffix(".pub").read_bytes())
    port = free_port()
    options = SshOptions(
        host="127.0.0.1",
        port=port,
        viewer_keys=tmp_path / "viewers",
        operator_keys=None,
        host_key=tmp_path / "host_key",
        idle_timeout=60,
    )
    door = Door(RelayTokens(viewer="v" * 24, operator="o" * 24), logins)
    server = asyncio.create_task(serve_ssh(options, "http://127.0.0.1:1", door, SessionCount(2)))
    while True:  # listening once a connection is accepted
        assert not server.done(), server
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        break
    try:
        yield SshDoor(port, logins, viewer, stranger)
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


async def test_unknown_keys_are_counted_and_the_right_key_clears_them(tmp_path: Path) -> None:
    # Short waits: the doubling itself is FailedLogins' own test (tests/security/test_edges.py).
    async with ssh_door(tmp_path, FailedLogins(first=0.01, most=0.05)) as door:
        assert not await door.login(door.stranger)
        assert not await door.login(door.stranger)
        assert door.logins._count == {"127.0.0.1": 2}
        assert await door.login(door.viewer)
        assert door.logins._count == {}


async def test_a_flood_of_unknown_keys_waits_only_a_few(tmp_path: Path) -> None:
    """After one failure the address waits an hour: of a flood of keys, MOST_WAITING wait their
    turn and the others are refused at once, unheard."""
    async with ssh_door(tmp_path, FailedLogins(first=3600, most=3600)) as door:
        assert not await door.login(door.stranger)  # the address is failing now
        flood = [asyncio.create_task(door.login(door.stranger)) for _ in range(12)]
        try:
            for refused, done in enumerate(asyncio.as_completed(flood), start=1):
                assert await done is False
                if refused == len(flood) - MOST_WAITING:
                    break
            assert door.logins._waiting == {"127.0.0.1": MOST_WAITING}
            assert door.logins._count == {"127.0.0.1": 1}  # none of the flood was judged
        finally:
            for attempt in flood:
                attempt.cancel()
            await asyncio.gather(*flood, return_exceptions=True)


def test_the_relay_command_hands_one_door_to_every_door(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``qjob-tui relay --ssh``: the API, the browser's page and the SSH server judge callers
    through one ``Door``: one throttle (a wrong key at the SSH door counts against the address
    at the API too, and the other way round), and the tokens the SSH dashboards are given are
    the ones the relay judges."""
    from qjob_tui.cli.main import build_parser
    from qjob_tui.cli.relay import run_relay_command
    from qjob_tui.relay import server as relay_server
    from qjob_tui.ssh import server as ssh_server

    viewer = write_key(tmp_path / "viewer")
    (tmp_path / "viewers").write_bytes(viewer.with_suffix(".pub").read_bytes())
    handed: dict[str, object] = {}

    async def fake_serve_ssh(*args: object, **kwargs: object) -> None:
        handed["ssh"] = kwargs["door"] if "door" in kwargs else args[2]

    async def fake_run_relay(*args: object, **kwargs: object) -> int:
        handed["relay"] = kwargs["door"] if "door" in kwargs else args[4]
        also = kwargs["also"]
        await also("http://127.0.0.1:1")  # type: ignore[operator]
        return 0

    monkeypatch.setattr(ssh_server, "serve_ssh", fake_serve_ssh)
    monkeypatch.setattr(relay_server, "run_relay", fake_run_relay)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("QJOB_TUI_RELAY_TOKEN", raising=False)
    monkeypatch.delenv("QJOB_TUI_RELAY_OPERATOR_TOKEN", raising=False)
    args = build_parser().parse_args(
        ["relay", "--source", "http://127.0.0.1:1", "--no-web", "--ssh", "0",
         "--authorized-keys", str(tmp_path / "viewers"), "--data", str(tmp_path / "data")]
    )  # fmt: skip
    assert run_relay_command(args) == 0
    door = handed["relay"]
    assert isinstance(door, Door)
    assert handed["ssh"] is door
    # Tokens made for the SSH dashboards, and callers without one still let in on loopback.
    assert door.tokens.viewer and door.tokens.operator and door.tokens.open
