"""One rule says whether the relay needs a token (``RelayTokens.open_to_all``), and every place
that asks agrees: where the relay may listen, who its API and its pages let in unvouched, what
a wrong credential stands for at the API and in the browser. Before, the rule was written in
four places, and an empty token was none where the relay chose its address but a token for
the doors."""

from __future__ import annotations

import asyncio

import pytest

from qjob_tui.edge.logins import FailedLogins
from qjob_tui.relay.door import OPERATOR, Door, RelayTokens
from qjob_tui.relay.server import refusal
from qjob_tui.relay.web.access import WebAccess

TOKEN = "t" * 24
TOKENS = [
    (RelayTokens(), True),
    (RelayTokens(viewer="", operator=""), True),  # an empty token is no token
    (RelayTokens(viewer=""), True),
    (RelayTokens(viewer=TOKEN), False),
    (RelayTokens(operator=TOKEN), False),
    (RelayTokens(viewer=TOKEN, operator=TOKEN + "o", open=True), False),
]


@pytest.mark.parametrize(("tokens", "open_to_all"), TOKENS)
def test_every_door_asks_one_rule_whether_a_token_is_needed(
    tokens: RelayTokens, open_to_all: bool
) -> None:
    assert tokens.open_to_all is open_to_all
    assert (refusal("0.0.0.0", tokens) is not None) is open_to_all
    assert refusal("127.0.0.1", tokens) is None
    door = Door(tokens, FailedLogins(first=0.0))
    wrong = "Bearer wrong-token"
    assert door.unvouched(wrong) is open_to_all
    assert (asyncio.run(door.role(wrong, "192.0.2.1")) == OPERATOR) is open_to_all

    browser = WebAccess(door)
    on_loopback = {"authorization": wrong, "host": "127.0.0.1:8766"}
    role = asyncio.run(browser.role(on_loopback, {}, "192.0.2.1"))
    assert (role == OPERATOR) is open_to_all
    rebound = {"authorization": wrong, "host": "rebound.example:8766"}
    assert asyncio.run(browser.role(rebound, {}, "192.0.2.1")) is None
