"""The last word on an unexpected error: one line on stderr, the traceback in a log file.

Every entry point (the commands, the dashboard, the service, the relay) ends an error it did not
expect here. The log holds the plain traceback, never local variables (Textual's own crash
screen shows them, with whatever headers and tokens they held), and every secret this process
knows is masked in it and in the line: the values of secret-looking environment variables, the
saved accounts' API keys, and bearer tokens or keys written in any text.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from qjob_tui import locations
from qjob_tui.text import one_line

if TYPE_CHECKING:
    from textual.app import App

MASK = "***"
# Environment variables whose values are secrets, by their names' words.
_SECRET_NAME = re.compile(r"TOKEN|APIKEY|API_KEY|SECRET|PASSW|CREDENTIAL|AUTH", re.IGNORECASE)
# Secrets written in text, whoever wrote them: "Bearer X", "apikey=X", "'token': 'X'".
_SECRET_TEXT = re.compile(
    r"(?P<head>\bBearer\s+|\b(?:api_?key|token|password|secret|authorization)\b[\"']?\s*[:=]\s*"
    r"[\"']?(?:Bearer\s+)?)(?P<secret>[^\s\"',;)}\]]+)",
    re.IGNORECASE,
)
_SHORTEST = 4  # shorter values are masked only where the patterns above find them


def known_secrets(env: os._Environ[str] | dict[str, str] | None = None) -> list[str]:
    """The secrets this process could hold: longest first, so none is half-masked."""
    env = os.environ if env is None else env
    found = {value for name, value in env.items() if _SECRET_NAME.search(name) and value}
    with contextlib.suppress(Exception):  # a crash report must not crash on a broken file
        from qjob_tui.api.accounts import load_saved_accounts

        found.update(account.token for account in load_saved_accounts().values() if account.token)
    secrets = {s for s in found if len(s) >= _SHORTEST}
    # Every spelling a secret can take in a traceback: as is, and escaped as repr() writes it.
    secrets |= {repr(s)[1:-1] for s in secrets}
    return sorted(secrets, key=len, reverse=True)


@functools.cache
def _process_secrets() -> tuple[str, ...]:
    """``known_secrets`` once per process: a server redacts every line it logs."""
    return tuple(known_secrets())


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """The text with every known secret, and every secret-looking value, masked."""
    for secret in _process_secrets() if secrets is None else secrets:
        text = text.replace(secret, MASK)
    return _SECRET_TEXT.sub(lambda m: m.group("head") + MASK, text)


def _new_log(program: str) -> Path:
    """A fresh log file only its owner can read, in the state folder (else the temp folder)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{program.replace(' ', '-')}-{stamp}-{os.getpid()}.log"
    folders = [locations.log_dir(), Path(os.environ.get("TMPDIR") or "/tmp")]
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = folder / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
            return path
    raise OSError("no folder to write a log in")


def _traceback_text(error: BaseException) -> str:
    """The traceback as Python prints it: frames and source lines, never local variables."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


class CrashLog:
    """One process's log of unexpected errors, created at the first one."""

    def __init__(self, program: str) -> None:
        self.program = program
        self.path: Path | None = None
        self._lock = threading.Lock()

    def write(self, heading: str, error: BaseException | None) -> Path | None:
        """Append the heading and the error's traceback, redacted; the log's path, if any."""
        body = heading if error is None else f"{heading}\n{_traceback_text(error)}"
        text = redact(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {body}\n")
        with self._lock:
            try:
                if self.path is None:
                    self.path = _new_log(self.program)
                with self.path.open("a", encoding="utf-8", errors="replace") as out:
                    out.write(text)
            except OSError:
                return None
        return self.path

    def line(self, error: BaseException) -> str:
        """Log the error; the one line that tells the user what happened and where to look."""
        path = self.write(f"{self.program}: unexpected error", error)
        cause = error
        while isinstance(cause, BaseExceptionGroup) and len(cause.exceptions) == 1:
            cause = cause.exceptions[0]  # a task group's one failure: name the failure
        what = type(cause).__name__
        said = one_line(redact(str(cause)), 160)
        where = f"; details in {path}" if path else ""
        return f"{self.program}: unexpected error ({what}{': ' + said if said else ''}){where}"

    def report(self, error: BaseException) -> None:
        """Print the one line on stderr."""
        with contextlib.suppress(OSError, ValueError):
            print(self.line(error), file=sys.stderr, flush=True)


_LOGS: dict[str, CrashLog] = {}


def crash_log(program: str = "qjob-tui") -> CrashLog:
    """The process's log for this program name (one file per process and name)."""
    if program not in _LOGS:
        _LOGS[program] = CrashLog(program)
    return _LOGS[program]


def install(program: str = "qjob-tui") -> CrashLog:
    """Route the errors nobody catches (main thread and other threads) to the crash log."""
    log = crash_log(program)

    def excepthook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        if isinstance(error, KeyboardInterrupt):
            return
        log.report(error.with_traceback(tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            log.report(args.exc_value)

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    return log


class OneLineFormatter(logging.Formatter):
    """A log record as one redacted line; a traceback goes to the crash log, named at the end."""

    def __init__(self, log: CrashLog) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.log = log

    def format(self, record: logging.LogRecord) -> str:
        message = one_line(redact(record.getMessage()), 400)
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            path = self.log.write(f"{record.name}: {message}", error)
            what = f"{type(error).__name__}: {one_line(redact(str(error)), 120)}"
            message += f" ({what}; details in {path})" if path else f" ({what})"
        record.asctime = self.formatTime(record)
        return f"{record.asctime} {record.levelname} {record.name}: {message}"


def configure_logging(level: str, program: str) -> None:
    """Log to stderr one line per record; tracebacks only in the crash log, redacted.

    Servers call this instead of ``logging.basicConfig``, and run uvicorn without its own
    logging configuration, so its records ("Exception in ASGI application") come here too.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(crash_log(program)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class DashboardCrash:
    """Textual's crash screen made one line and a log path, for one app.

    Textual ends an app's unexpected error in ``App._fatal_error``, which renders a rich
    traceback with ``show_locals=True`` (request headers, tokens) and prints it once the
    terminal is restored. ``guard`` replaces that method on the app: the traceback goes to the
    crash log, redacted and without locals, and ``line`` is printed once the app has ended.
    """

    def __init__(self, program: str = "qjob-tui") -> None:
        self.log = crash_log(program)
        self.line: str | None = None

    def guard(self, app: App[object]) -> None:
        def fatal_error() -> None:
            error = sys.exc_info()[1]
            if self.line is None:  # the first error is the one that ended the app
                self.line = self.log.line(error) if error else f"{self.log.program}: crashed"
            app.bell()
            app._close_messages_no_wait()

        app._fatal_error = fatal_error  # type: ignore[method-assign]

    def report(self) -> None:
        """Print the line, if the app crashed: after the app, on the terminal it restored."""
        if self.line is not None:
            print(self.line, file=sys.stderr, flush=True)
