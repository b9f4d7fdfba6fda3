"""The dashboard under Textual's web driver, as textual-serve and the relay's browser view run it.

With ``TEXTUAL_DRIVER=textual.drivers.web_driver:WebDriver`` its frames must go out as the web
driver's packets on stdout (the dashboard's own hang-up-safe driver, which writes the terminal
on stderr, steps aside), it must keep running with pipes for stdin and stdout, follow the size a
``resize`` meta packet gives, and end on a ``quit`` meta packet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.http_helpers import sampler_body
from tests.service_process import ServiceProcess
from tests.web_frames import Screen, meta, pump_packets

WEB_DRIVER = "textual.drivers.web_driver:WebDriver"


def test_the_dashboard_draws_through_the_web_driver(
    service: ServiceProcess, tmp_path: Path
) -> None:
    with httpx.Client(base_url=service.url) as http:
        body = sampler_body("fake_cairo", shots=100_000, name="web-driver-job")
        job_id = http.post("/jobs", json=body).json()["id"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TEXTUAL_DRIVER": WEB_DRIVER,
        "TEXTUAL_COLOR_SYSTEM": "truecolor",
        "COLUMNS": "120",
        "ROWS": "40",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "qjob_tui", "--source", service.root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        screen = Screen(120, 40)
        reader = pump_packets(proc.stdout, screen)
        screen.wait_for(lambda s: job_id in s and "Quit" in s.splitlines()[-1], timeout=90)
        # The browser's window changes: the dashboard redraws at the new size.
        small = Screen(90, 20)
        with screen.lock:
            screen.screen, screen.stream = small.screen, small.stream
        proc.stdin.write(meta({"type": "resize", "width": 90, "height": 20}))
        proc.stdin.flush()

        def redrawn(text: str) -> bool:
            borders = [line.rstrip() for line in text.splitlines() if line.startswith("╭")]
            return any(len(b) == 90 for b in borders) and "Quit" in text.splitlines()[-1]

        screen.wait_for(redrawn)
        proc.stdin.write(meta({"type": "quit"}))
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
        reader.join(timeout=10)
        assert {"type": "exit"} in screen.metas
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
