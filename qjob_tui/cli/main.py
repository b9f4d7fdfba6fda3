"""The ``qjob-tui`` command: argument parsing and dispatch to the subcommands.

Exit codes: 0 ok, 1 error, 2 usage. Errors are one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from qjob_tui import __version__, locations
from qjob_tui.cli.arg_types import non_negative_float, port, positive_int, refresh
from qjob_tui.cli.exit_codes import (
    EXIT_CLOSED_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
)
from qjob_tui.cli.serve_secrets import SecretError, refusing, secret
from qjob_tui.cli.variables import APIKEY_VARIABLE, TOKEN_VARIABLE

if TYPE_CHECKING:
    from qjob_tui.service.limits import JobLimits

# A worker holds about 200 MB once Qiskit is imported and has run a job.
MIN_JOB_MEMORY = 256 * 1024**2


_SIZE_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 1024, "mi": 1024**2}
_SIZE_UNITS["gi"] = 1024**3


def _size(text: str) -> int:
    """A size in bytes: ``33554432``, ``32MiB``, ``500M``."""
    cleaned = text.strip().lower().removesuffix("b")
    digits = cleaned.rstrip("kmgi")
    unit = cleaned[len(digits) :]
    try:
        value = float(digits) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 32MiB, 500K)") from None
    if not 1 <= value <= 2**62:
        raise argparse.ArgumentTypeError(f"a size must be 1 byte or more: {text!r}")
    return int(value)


_OPTION_VALUE = re.compile(r"(--[A-Za-z0-9][\w-]*)=\S+")


class Parser(argparse.ArgumentParser):
    """argparse's parser whose usage errors are one line (and exit 2), as every error is."""

    def error(self, message: str) -> NoReturn:
        from qjob_tui.text import one_line

        # argparse quotes an unknown or ambiguous ``--opt=value`` whole: the value may be a
        # secret typed after a mistyped option (``--tok=SECRET``), so it is never repeated.
        message = _OPTION_VALUE.sub(r"\1=***", message)
        self.exit(EXIT_USAGE, f"{self.prog}: {one_line(message, 300)} (see {self.prog} --help)\n")


def _job_id(text: str) -> str:
    """A job id as servers give them: checked before it can reach a URL."""
    from qjob_tui.api.client import id_problem

    problem = id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="qjob-tui",
        description="A terminal dashboard for quantum computing jobs.",
    )
    parser.add_argument("--version", action="version", version=f"qjob-tui {__version__}")
    _dashboard_options(parser, prefix=ROOT)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="open the dashboard on a fresh local service with a demo workload"
    )
    _dashboard_options(demo, sources=False)  # the demo watches its own fresh service

    serve = commands.add_parser(
        "serve",
        help="run the local job service (the IBM Quantum REST API on Qiskit's simulators)",
        description="Serve the IBM Quantum REST API v1 at http://HOST:PORT/api/v1, running "
        "jobs on Qiskit's simulators.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8765, help="port (default 8765)")
    serve.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"data directory (default {locations.data_dir()})",
    )
    serve.add_argument(
        "--token-env",
        metavar="VAR",
        default=None,
        help="require 'Authorization: Bearer TOKEN' on every request (required off loopback, "
        f"at least 16 characters), the token read from environment variable VAR (default "
        f"{TOKEN_VARIABLE})",
    )
    serve.add_argument(
        "--token-file",
        metavar="PATH",
        type=Path,
        default=None,
        help="read the token from this file instead, which only you may read (chmod 600)",
    )
    serve.add_argument(
        "--iam-apikey-env",
        metavar="VAR",
        default=None,
        help="emulate IBM Cloud IAM: answer POST /identity/token for the API key in "
        f"environment variable VAR (default {APIKEY_VARIABLE}), and require the tokens it "
        "issues",
    )
    serve.add_argument(
        "--iam-apikey-file",
        metavar="PATH",
        type=Path,
        default=None,
        help="read the IAM API key from this file instead, which only you may read (chmod 600)",
    )
    # The old spellings that took the secret itself: refused, saying where it goes now.
    serve.add_argument(
        "--token", action=refusing(TOKEN_VARIABLE, "--token-file"), help=argparse.SUPPRESS
    )
    serve.add_argument(
        "--iam-apikey",
        action=refusing(APIKEY_VARIABLE, "--iam-apikey-file"),
        help=argparse.SUPPRESS,
    )
    serve.add_argument("--demo", action="store_true", help="submit a demo workload")
    serve.add_argument(
        "--while-used",
        action="store_true",
        help="stop once no dashboard uses it any more (how the dashboard starts its "
        "background service, shared by every dashboard on the same data folder)",
    )
    serve.add_argument(
        "--latency-scale",
        type=non_negative_float,
        default=1.0,
        help="multiply the devices' per-shot latency (0 makes them instant)",
    )
    serve.add_argument(
        "--workers", type=int, default=2, help="worker processes that run jobs (default 2)"
    )
    serve.add_argument(
        "--warm-workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes started with the service, Qiskit imported before the first job"
        " (default 1; 0 starts them with the first job)",
    )
    serve.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run jobs on the Dask cluster whose scheduler is at tcp://HOST:PORT, or on a "
        "LocalCluster of N worker processes (local:N); needs the 'dask' extra",
    )
    serve.add_argument(
        "--max-body",
        type=_size,
        default=32 * 1024 * 1024,
        metavar="BYTES",
        help="refuse request bodies larger than this, with 413 (default 32MiB; K, M, G, "
        "KiB, MiB, GiB suffixes)",
    )
    serve.add_argument(
        "--job-time",
        type=positive_int,
        default=None,
        metavar="SECONDS",
        help="maximum execution time of a job that gives none (IBM's cost; default 600); "
        "past it the job ends Cancelled with reason code 1305, 'ran too long'",
    )
    serve.add_argument(
        "--job-time-limit",
        type=positive_int,
        default=None,
        metavar="SECONDS",
        help="the most a job may ask for as its cost (default 10800, IBM's ceiling)",
    )
    serve.add_argument(
        "--job-memory",
        type=_size,
        default=None,
        metavar="BYTES",
        help="memory a job's worker may use; past it the job ends Failed (default: the "
        "machine's memory shared by the workers and the service, e.g. 8GiB)",
    )
    serve.add_argument(
        "--usage-limit",
        type=non_negative_float,
        default=None,
        metavar="SECONDS",
        help="quantum seconds the instance may use; then submits are refused (default: none)",
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
    )
    _job_commands(commands)
    _usage_command(commands)

    from qjob_tui.cli.relay import add_relay_parser

    add_relay_parser(commands)
    return parser


def _dashboard_options(
    parser: argparse.ArgumentParser, prefix: str = "", *, sources: bool = True
) -> None:
    """Options of the dashboard, for ``qjob-tui`` and ``qjob-tui demo`` (without the options
    that choose sources: ``--source``, ``--relay``).

    Before a subcommand they are kept apart (``prefix``), so that ``_root_options`` can hand
    them to the subcommand or refuse them: argparse would let the subcommand's defaults
    overwrite them without a word.
    """
    if sources:
        parser.add_argument(
            "--source",
            action="append",
            dest=f"{prefix}sources",
            metavar="SOURCE",
            help="watch this source: account name, 'ibm', 'local' or a URL (repeatable)",
        )
    parser.add_argument(
        "--readonly",
        action="store_true",
        dest=f"{prefix}readonly",
        help="hide every action that changes a job",
    )
    parser.add_argument(
        "--refresh",
        type=refresh,
        metavar="SECONDS",
        dest=f"{prefix}refresh",
        help="poll interval while jobs are active",
    )
    if sources:
        parser.add_argument(
            "--relay",
            metavar="URL",
            dest=f"{prefix}relay",
            help="watch every source of a qjob-tui relay (token in $QJOB_TUI_RELAY_TOKEN)",
        )
    parser.add_argument(
        "--no-mouse", action="store_true", dest=f"{prefix}no_mouse", help="do not capture the mouse"
    )
    parser.add_argument(
        "--theme",
        dest=f"{prefix}theme",
        metavar="THEME",
        help="a Textual theme, e.g. textual-dark, nord, gruvbox",
    )


ROOT = "root_"
_ROOT_OPTIONS = {
    "sources": "--source",
    "readonly": "--readonly",
    "refresh": "--refresh",
    "relay": "--relay",
    "no_mouse": "--no-mouse",
    "theme": "--theme",
}


def _root_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Options given before the subcommand mean what they mean after it, or are refused.

    ``qjob-tui --source URL cancel ID`` cancels on URL, as ``cancel ID --source URL`` does; an
    option the subcommand does not have (``qjob-tui --readonly ls``) is a usage error.
    """
    for name, flag in _ROOT_OPTIONS.items():
        value = getattr(args, ROOT + name)
        if args.command is None:
            setattr(args, name, value)
            continue
        if value is None or value is False:
            continue
        where = f"'qjob-tui {args.command}'"
        if name == "sources" and not hasattr(args, "sources") and hasattr(args, "source"):
            if len(value) > 1:
                parser.error(
                    f"{where} works on one source, and --source was given {len(value)} times"
                )
            if args.source is not None and args.source != value[0]:
                parser.error(f"--source given twice, differently: {value[0]!r} and {args.source!r}")
            args.source = value[0]
        elif name == "sources" and hasattr(args, "sources"):
            args.sources = [*value, *(args.sources or [])]
        elif hasattr(args, name):
            current = getattr(args, name)
            if current not in (None, False) and current != value:
                parser.error(f"{flag} given twice, differently: {value!r} and {current!r}")
            setattr(args, name, value)
        else:
            parser.error(_not_an_option(flag, args.command))


def _not_an_option(flag: str, command: str) -> str:
    """The one explanation of a dashboard option given to a subcommand, wherever it stood."""
    return f"{flag} is not an option of 'qjob-tui {command}' (it is the dashboard's)"


def _refuse_extras(
    extras: list[str], args: argparse.Namespace, parser: argparse.ArgumentParser
) -> None:
    """What no parser took: a dashboard option after a subcommand (``qjob-tui ls
    --readonly``) is explained as it is before one; anything else is unrecognized."""
    dashboard = [
        flag
        for action in parser._actions
        if action.dest.startswith(ROOT)
        for flag in action.option_strings
    ]
    for extra in extras:
        given = extra.partition("=")[0]
        matches = (
            [flag for flag in dashboard if flag.startswith(given)] if given[:2] == "--" else []
        )
        if given in dashboard or len(matches) == 1:
            flag = given if given in dashboard else matches[0]
            parser.error(_not_an_option(flag, args.command))
    parser.error(f"unrecognized arguments: {' '.join(_shown_words(extras))}")


def _shown_words(extras: list[str]) -> list[str]:
    """Unrecognized words as a usage error may repeat them: a word after an unknown option
    may be its value, and that may be a secret typed after a mistyped option (``--tokn
    SECRET``), so it is never repeated (``Parser.error`` hides ``--opt=value``'s)."""
    shown = []
    after_option = False
    for word in extras:
        if after_option and not word.startswith("-"):
            shown.append("***")
            after_option = False
            continue
        shown.append(word)
        after_option = word.startswith("-") and "=" not in word
    return shown


class _Once(argparse.Action):
    """An option that may be given once: a second, different value is refused, not ignored."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest, None)
        if current is not None and current != values:
            parser.error(f"{option_string} given twice, differently: {current!r} and {values!r}")
        setattr(namespace, self.dest, values)


def _job_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ls``, ``show``, ``submit``, ``cancel``, ``tag``: for scripts and plain terminals."""
    source_help = "account name, 'ibm', 'local' or a URL (default: IBM account, else local)"

    ls = commands.add_parser("ls", help="list jobs")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.add_argument(
        "--watch", action="store_true", help="keep watching: a line per change, ctrl+c stops"
    )
    ls.add_argument(
        "--refresh", type=refresh, metavar="SECONDS", help="with --watch: poll interval"
    )
    ls.add_argument("--pending", action="store_true", help="only queued and running jobs")
    ls.add_argument("--backend", help="only jobs on this backend")
    ls.add_argument("--tag", action="append", help="only jobs with this tag (repeatable: all)")
    ls.add_argument("--limit", type=positive_int, default=20, help="at most N jobs (default 20)")
    ls.add_argument("--source", action=_Once, help=source_help)

    show = commands.add_parser("show", help="show one job with its steps, queue and error")
    show.add_argument("job_id", metavar="ID", type=_job_id)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("--source", action=_Once, help=source_help)

    submit = commands.add_parser("submit", help="submit an OpenQASM 2 or 3 file")
    submit.add_argument("file", type=Path, metavar="FILE.qasm")
    submit.add_argument("--backend", default="basic_simulator", help="default basic_simulator")
    submit.add_argument("--shots", type=positive_int, default=None, help="default 4096")
    submit.add_argument("--tag", action="append", help="tag the job (repeatable)")
    submit.add_argument("--name", help="a name for the job (local service only)")
    submit.add_argument("--source", action=_Once, help=source_help)

    cancel = commands.add_parser(
        "cancel",
        help="cancel a queued or running job",
        description="Cancel a queued or running job. Exit code 0 when the job ends cancelled: "
        "by this command ('cancelled ID'), or already before it ('ID was already cancelled'). "
        "1 when it cannot be cancelled because it already ended otherwise (the line on stderr "
        "names its final state, DONE or ERROR), or when the service cannot be reached or "
        "refuses. 2 for bad usage.",
    )
    cancel.add_argument("job_id", metavar="ID", type=_job_id)
    cancel.add_argument("--source", action=_Once, help=source_help)

    tag = commands.add_parser("tag", help="replace a job's tags (none clears them)")
    tag.add_argument("job_id", metavar="ID", type=_job_id)
    # A default makes TAG optional to argparse too: 'tag ID' alone clears the tags.
    tag.add_argument("tags", nargs="*", metavar="TAG", default=[])
    tag.add_argument("--source", action=_Once, help=source_help)


def _usage_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``usage`` (its module, with what it imports, loads only when it runs)."""
    usage = commands.add_parser(
        "usage", help="quantum time used and left per source (IBM instances, local limit)"
    )
    usage.add_argument("--json", action="store_true", help="print JSON")
    usage.add_argument(
        "--source",
        action="append",
        dest="sources",
        help="account name, 'ibm', 'local' or a URL (repeatable; default: every account)",
    )


def _job_limits(args: argparse.Namespace) -> JobLimits | str:
    """The per-job limits of ``serve``'s flags, or why they do not fit together."""
    from qjob_tui.service.limits import (
        DEFAULT_COST_SECONDS,
        IBM_MAX_COST_SECONDS,
        JobLimits,
        fair_share,
    )

    ceiling = args.job_time_limit or IBM_MAX_COST_SECONDS
    default = args.job_time or min(DEFAULT_COST_SECONDS, ceiling)
    if default > ceiling:
        return f"--job-time {default} is above --job-time-limit {ceiling}"
    memory = args.job_memory or fair_share(max(args.workers, 1))
    if memory is not None and memory < MIN_JOB_MEMORY:
        return f"--job-memory must be at least {MIN_JOB_MEMORY // 1024**2} MiB (Qiskit needs it)"
    return JobLimits(default_seconds=default, max_seconds=ceiling, memory_limit_bytes=memory)


def _serve(args: argparse.Namespace) -> int:
    from qjob_tui.service.app import ServiceConfig
    from qjob_tui.service.cluster.address import dask_problem
    from qjob_tui.service.server import refusal, serve

    try:
        token = secret(
            args.token_file, args.token_env, TOKEN_VARIABLE, ("--token-file", "--token-env")
        )
        apikey = secret(
            args.iam_apikey_file,
            args.iam_apikey_env,
            APIKEY_VARIABLE,
            ("--iam-apikey-file", "--iam-apikey-env"),
        )
    except SecretError as exc:
        print(f"qjob-tui serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = refusal(args.host, token)
    if problem is not None:
        print(f"qjob-tui serve: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.workers < 1:
        print("qjob-tui serve: --workers must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    if args.dask is not None:
        problem = dask_problem(args.dask)
        if problem is not None:
            print(f"qjob-tui serve: {problem}", file=sys.stderr)
            return EXIT_USAGE
    limits = _job_limits(args)
    if isinstance(limits, str):
        print(f"qjob-tui serve: {limits}", file=sys.stderr)
        return EXIT_USAGE
    config = ServiceConfig(
        dask=args.dask,
        data_dir=(args.data or locations.data_dir()).expanduser(),
        token=token,
        iam_apikey=apikey,
        latency_scale=args.latency_scale,
        workers=args.workers,
        warm_workers=max(args.warm_workers, 0),
        demo=args.demo,
        max_body=args.max_body,
        limits=limits,
        usage_limit=args.usage_limit,
    )
    from qjob_tui.cli.crash import configure_logging

    configure_logging(args.log_level, "qjob-tui serve")
    try:
        return serve(config, args.host, args.port, args.log_level, while_used=args.while_used)
    except OSError as exc:
        print(f"qjob-tui serve: {exc}", file=sys.stderr)
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    from qjob_tui.cli import crash

    log = crash.install()
    try:
        return _main(argv)
    except Exception as exc:  # the last word: one line and a log path, never a traceback
        log.report(exc)
        return EXIT_ERROR


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    from qjob_tui.cli.option_places import misplaced

    words = sys.argv[1:] if argv is None else list(argv)
    problem = misplaced(words, parser)
    if problem is not None:
        parser.error(problem)
    args, extras = parser.parse_known_args(words)
    if extras:
        _refuse_extras(extras, args, parser)
    _root_options(args, parser)
    if args.command == "ls" and args.refresh is not None and not args.watch:
        parser.error("--refresh goes with --watch: 'qjob-tui ls' alone lists once")
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "usage":
            from qjob_tui.cli.usage import usage

            return usage(args)

        if args.command == "relay":
            from qjob_tui.cli.relay import run_relay_command

            return run_relay_command(args)
        if args.command in ("ls", "show", "submit", "cancel", "tag"):
            from qjob_tui.cli import commands

            code = int(getattr(commands, args.command)(args))
            sys.stdout.flush()  # here, where a closed pipe can still be caught
            return code
        # No cyclic collection while the dashboard starts: importing Textual, the widgets and the
        # store builds ~70,000 long-lived containers, and each collection would scan them all
        # again (about 15 % of the imports' time). ``run_dashboard`` freezes them and turns the
        # collector back on before the app runs.
        gc.disable()
        try:
            from qjob_tui.cli.dashboard import run_dashboard

            return run_dashboard(
                source_specs=getattr(args, "sources", None),
                relay=getattr(args, "relay", None),
                demo=args.command == "demo",
                readonly=args.readonly,
                refresh=args.refresh,
                mouse=not args.no_mouse,
                theme=args.theme,
            )
        finally:
            gc.enable()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """The reader went away (``qjob-tui ls | head -1``): end quietly, as SIGPIPE would, with
    nothing left for Python to flush into the closed pipe at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_CLOSED_PIPE


if __name__ == "__main__":
    sys.exit(main())
