"""The command's exit statuses, one list for every command (scripts test them)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1  # the server or the network failed the command
EXIT_USAGE = 2  # the command line was wrong: nothing was asked of any server
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by SIGINT (Ctrl-C)
EXIT_CLOSED_PIPE = 141  # as a shell reports a command ended by SIGPIPE
