"""Job and session ids: IBM's shape, drawn from the system's randomness a block at a time."""

from __future__ import annotations

import os
import re

from qjob_tui.service.ids import new_id
from qjob_tui.service.scheduler import new_job_id
from qjob_tui.service.sessions import new_session_id


def test_ids_have_ibms_shape_and_do_not_repeat() -> None:
    jobs = [new_job_id() for _ in range(10_000)]  # more than one block of randomness
    assert all(re.fullmatch(r"d[a-z0-9]{19}", job) for job in jobs), jobs[:3]
    assert len(set(jobs)) == len(jobs)
    assert re.fullmatch(r"s[a-z0-9]{19}", new_session_id())


def test_every_character_is_drawn() -> None:
    seen = {char for _ in range(2_000) for char in new_id("x")[1:]}
    assert seen == set("abcdefghijklmnopqrstuvwxyz0123456789")


def test_a_forked_child_draws_ids_of_its_own() -> None:
    new_id("d")  # the parent holds a block of randomness
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its next id and leave at once
        os.write(write, new_id("d").encode())
        os._exit(0)
    os.close(write)
    try:
        from_child = os.read(read, 64).decode()
    finally:
        os.close(read)
        os.waitpid(child, 0)
    assert from_child != new_id("d")
