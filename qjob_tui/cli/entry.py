"""The ``qjob-tui`` command's entry point, kept apart from everything it imports.

A Ctrl-C can come at any moment, also while the command's own modules are still importing
(a tenth of a second or more), before any of its handlers exists: caught here, it ends the
command quietly with the shell's status for it, never with a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from qjob_tui.cli.exit_codes import EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from qjob_tui.cli.main import main as command

        return command(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
