"""``qjob-tui cancel ID``: one rule a script can rely on, said in ``--help``.

0 when the job ends cancelled (by this command, or already before it); 1 when it cannot be,
because it ended otherwise (the line names its final state); 2 for bad usage.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.http_helpers import submit, wait_status
from tests.service_process import ServiceProcess
from tests.test_cli_jobs import qjob


def test_the_rule_is_in_the_help(tmp_path: Path) -> None:
    done = qjob("cancel", "--help", home=tmp_path)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "0 when the job ends cancelled" in text
    assert "1 when it cannot be cancelled" in text and "final state" in text


def test_each_final_state_gets_the_rule(service: ServiceProcess, tmp_path: Path) -> None:
    src = ("--source", service.root)
    with httpx.Client(base_url=service.url, timeout=30) as client:
        long = submit(client, backend="fake_cairo", shots=100000)
        done = submit(client, shots=10)
        failed = submit(client, circuit="OPENQASM 2.0;\nqreg q[1];\nnot_a_gate q[0];\n")
        wait_status(client, done)
        assert wait_status(client, failed)["status"] == "Failed"

    first = qjob("cancel", long, *src, home=tmp_path)
    assert first.returncode == 0 and first.stdout.strip() == f"cancelled {long}"
    again = qjob("cancel", long, *src, home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{long} was already cancelled"

    for job_id, state in ((done, "DONE"), (failed, "ERROR")):
        refused = qjob("cancel", job_id, *src, home=tmp_path)
        assert refused.returncode == 1 and refused.stdout == ""
        lines = refused.stderr.strip().splitlines()
        assert lines == [
            f"qjob-tui: {job_id} cannot be cancelled: it has already ended, in final state {state}"
        ]
