"""A real browser for the tests: Debian's chromium-headless-shell, driven by Playwright.

The browser comes from apt (installed once, by the first test that needs it, when missing) and
never from Playwright's own downloads (``playwright install`` fetches browsers from elsewhere).
The page's text is read from xterm's accessibility tree, which the relay's page turns on.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BROWSER = "chromium-headless-shell"
APT_LOCK = Path("/tmp/qjob-tui-apt.lock")  # two test processes must not run apt-get at once


def ensure_chromium() -> str:
    """The path of chromium-headless-shell, installed with apt-get when missing (as root)."""
    found = shutil.which(BROWSER)
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip(
            f"{BROWSER} is not installed, and apt-get (as root) is not at hand to install it"
        )
    with APT_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which(BROWSER):
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            subprocess.run(["apt-get", "update", "-qq"], check=False, timeout=900, **quiet)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", BROWSER],
                check=False,
                timeout=900,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                **quiet,
            )
    found = shutil.which(BROWSER)
    if not found:
        pytest.skip(f"{BROWSER} could not be installed with apt-get")
    return found


def screen_text(page: Any) -> str:
    """The terminal's rows as a screen reader gets them (xterm's accessibility tree)."""
    text = page.evaluate(
        "() => { const tree = document.querySelector('.xterm-accessibility-tree');"
        " return tree ? Array.from(tree.children).map(row => row.textContent).join('\\n') : ''; }"
    )
    return str(text)


def wait_page(page: Any, condition: Callable[[str], bool], timeout: float = 60.0) -> str:
    """Wait until the page's screen text meets the condition (Playwright's events keep going)."""
    deadline = time.monotonic() + timeout
    while True:
        text = screen_text(page)
        if condition(text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"not on the page after {timeout} s:\n{text}")
        page.wait_for_timeout(100)
