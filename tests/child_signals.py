"""Children that a test stops with SIGINT, as Ctrl-C would.

A suite started in the background by a shell (``make test &``, CI runners, nohup) inherits
SIGINT ignored, and so does every child; Python then installs no KeyboardInterrupt handler,
and SIGINT does nothing. Tests that stop a child with it give the child the default back.
"""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """``preexec_fn`` for Popen: the child starts with SIGINT's default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
