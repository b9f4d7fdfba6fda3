"""Children that a test stops with SIGINT, as Ctrl-C would.

A suite started in the background by a shell (``make test &``, CI runners, nohup) inherits
SIGINT ignored, and so does every child; Python then installs no KeyboardInterrupt handler,
and SIGINT does nothing. Tests that stop a child with it give the child the default back.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def default_sigint() -> None:
    """``preexec_fn`` for Popen: the child starts with SIGINT's default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def user_env(home: Path) -> dict[str, str]:
    """A child's environment: a user at home in ``home``, without the suite's own settings
    (``QISKIT_*``, ``QJOB_TUI_*``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QISKIT_", "QJOB_TUI_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"))
    return env
