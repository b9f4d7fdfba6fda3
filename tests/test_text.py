"""Server strings are shown as the plain characters they hold, in the dashboard and the CLI."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime

import pytest

from qjob_tui.cli.commands import format_job, format_jobs
from qjob_tui.cli.watch import change_line
from qjob_tui.model import Job, JobError, JobStatus
from qjob_tui.text import clean, counted, lines, one_line

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


@pytest.mark.parametrize("char", BIDI + ZERO_WIDTH)
def test_bidi_and_zero_width_characters_are_removed(char: str) -> None:
    assert clean(f"job{char}.exe") == "job.exe"
    assert one_line(f"a{char} b") == "a b"


def test_every_format_character_is_removed() -> None:
    kept = [
        f"U+{c:04X}"
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and clean(chr(c))
    ]
    assert kept == []


def test_text_that_is_not_hostile_is_kept() -> None:
    assert clean("Grüße, 量子 ✔ é\n\tnext") == "Grüße, 量子 ✔ é\n\tnext"
    assert one_line("two\nlines\tand tab") == "two lines and tab"
    assert lines("first\n\tsecond\r\n\n third ") == ["first", "second", "third"]


def _hostile_job() -> Job:
    return Job(
        id="d1\u202eexe.",
        source="local",
        status=JobStatus.ERROR,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        backend="fake\tlima\u200b",
        program="sampler\n",
        name="evil\u2066name\nsecond",
        tags=("a\u202e", "b\tc"),
        error=JobError(
            code=1, message="Traceback:\n\tline 1\x1b[2J\n\u2067x", solution="fix\n\tit"
        ),
    )


def test_show_never_prints_a_servers_newline_or_tab_or_bidi() -> None:
    text = format_job(_hostile_job())
    assert "\t" not in text
    assert not any(ch in text for ch in BIDI + ZERO_WIDTH + ["\x1b"])
    for line in text.splitlines():
        # Every line is ours: a label, an indented continuation, or the steps header.
        assert line[:10].rstrip() in {
            "Job",
            "Source",
            "Status",
            "Backend",
            "Program",
            "Created",
            "Name",
            "Tags",
            "Error",
            "Solution",
            "Usage",
            "",
        }, line
    assert "line 1" in text and "Traceback:" in text


def test_ls_and_watch_lines_are_clean() -> None:
    job = _hostile_job()
    for text in (format_jobs([job], with_source=True), change_line(job, "changed", job.created)):
        assert "\t" not in text and len(text.splitlines()) == (2 if "\n" in text else 1)
        assert not any(ch in text for ch in BIDI + ZERO_WIDTH)


@pytest.mark.parametrize(
    ("count", "words", "expected"),
    [
        (1, ("job",), "1 job"),
        (0, ("job",), "0 jobs"),
        (2, ("job",), "2 jobs"),
        (1000, ("job",), "1,000 jobs"),
        (1, ("try", "tries"), "1 try"),
        (3, ("try", "tries"), "3 tries"),
    ],
)
def test_counted_says_one_and_many(count: int, words: tuple[str, ...], expected: str) -> None:
    assert counted(count, *words) == expected
