"""``qjob-tui usage``: the quantum time each source has used this period, and what is left.

The sources are those of ``--source`` (repeatable), else every IBM Quantum account and
configured service, else the local service. A source that fails is reported on stderr and the
others are still printed; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from qjob_tui.api.errors import ApiError
from qjob_tui.api.source import Source
from qjob_tui.cli.commands import answer_timeout
from qjob_tui.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from qjob_tui.cli.sources import SourceError, local_source, resolve_source
from qjob_tui.model import LOW_USAGE_FRACTION, InstanceUsage
from qjob_tui.text import one_line
from qjob_tui.ui.formatting import compact_duration


def usage_dict(source: str, usage: InstanceUsage) -> dict[str, Any]:
    """One source's usage as JSON, with the client's ``usage_remaining_seconds`` added."""
    return {
        "source": source,
        "instance": usage.instance,
        "usage_consumed_seconds": usage.consumed_seconds,
        "usage_limit_seconds": usage.limit_seconds,
        "usage_remaining_seconds": usage.remaining_seconds,
        "usage_limit_reached": usage.limit_reached,
        "fraction_left": usage.fraction_left,
        "low": usage.low,
        "period_start": usage.period_start.isoformat() if usage.period_start else None,
        "period_end": usage.period_end.isoformat() if usage.period_end else None,
    }


def format_usage(rows: list[tuple[str, InstanceUsage]]) -> str:
    table = [["SOURCE", "USED", "LIMIT", "LEFT", ""]]
    for source, usage in rows:
        left = usage.remaining_seconds
        share = usage.fraction_left
        left_text = "-" if left is None else compact_duration(left)
        if share is not None:
            left_text += f" ({share * 100:.0f} %)"
        note = ""
        if usage.limit_reached:
            note = "⚠ limit reached: new jobs are refused"
        elif usage.low:
            note = f"⚠ under {LOW_USAGE_FRACTION * 100:.0f} % left"
        limit = usage.limit_seconds
        table.append(
            [
                one_line(source, 40),
                compact_duration(usage.consumed_seconds),
                "-" if limit is None else compact_duration(limit),
                left_text,
                note,
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def _sources(specs: list[str] | None) -> list[Source]:
    if specs:
        return [resolve_source(spec) for spec in specs]
    from qjob_tui.cli.dashboard import configured_sources
    from qjob_tui.config import load_settings

    settings, notices = load_settings()
    for notice in notices:
        print(f"qjob-tui: {notice}", file=sys.stderr)
    return configured_sources(settings, [], strict=True) or [local_source(os.environ)]


async def _read(source: Source) -> InstanceUsage | ApiError:
    from qjob_tui.cli.commands import command_client

    async with command_client(source) as client:
        try:
            return await client.usage()
        except ApiError as exc:
            return exc


async def _read_all(sources: list[Source]) -> list[InstanceUsage | ApiError]:
    return list(await asyncio.gather(*(_read(source) for source in sources)))


def usage(args: argparse.Namespace) -> int:
    try:
        sources = _sources(args.sources)
        answer_timeout()  # a bad $QJOB_TUI_TIMEOUT is refused before any request
    except SourceError as exc:
        print(f"qjob-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        answers = asyncio.run(_read_all(sources))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    rows: list[tuple[str, InstanceUsage]] = []
    failed = False
    for source, answer in zip(sources, answers, strict=True):
        if isinstance(answer, ApiError):
            failed = True
            print(f"qjob-tui: {answer}", file=sys.stderr)
        else:
            rows.append((source.name, answer))
    if args.json:
        print(json.dumps([usage_dict(name, item) for name, item in rows], indent=2))
    elif rows:
        print(format_usage(rows))
    return EXIT_ERROR if failed else EXIT_OK
