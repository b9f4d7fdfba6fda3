"""Untrusted text made safe to show: servers' strings never reach a terminal raw.

A job name, a tag or an error message from a server could hold escape sequences that move the
cursor or change the terminal's title, bidi overrides that make "job.exe" read as "exe.boj", or
zero-width characters that make two different ids look the same; these functions strip them, so
that every such string is shown as the plain characters it holds.
"""

from __future__ import annotations

import re

# Unicode's format characters (category Cf) and the line and paragraph separators: bidi
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), zero-width spaces and
# joiners, the byte order mark, invisible operators, tag characters. Written out, not derived
# from unicodedata at import, so that importing this costs nothing.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# CSI, OSC (ending in BEL or ST), other ESC sequences, then C0/C1 control characters and the
# format characters above.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    rf"|[\x00-\x08\x0b-\x1f\x7f-\x9f{_FORMAT}]"
)


_HIDDEN = re.compile(rf"[\x00-\x1f\x7f-\x9f{_FORMAT}]")


def has_hidden(text: str) -> bool:
    """Whether the text holds a control character (tabs and newlines too) or a format
    character (a bidi override, a zero-width space): what a name must not hide."""
    return _HIDDEN.search(text) is not None


def clean(text: object) -> str:
    """The text without escape sequences, control and format characters (newlines and tabs
    kept, for text shown in a pane that wraps it)."""
    return _ESCAPES.sub("", str(text))


def one_line(text: object, limit: int = 200) -> str:
    """Clean text on one line, whitespace collapsed, cut to ``limit`` characters."""
    line = " ".join(clean(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def lines(text: object, limit: int = 300) -> list[str]:
    """Clean text as separate lines (each one cleaned, tabs and runs of spaces collapsed), for
    output that must never pass a server's newline or tab on raw."""
    return [one_line(line, limit) for line in clean(text).splitlines() if line.strip()]


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 job``, ``2 jobs``, ``1,000 jobs``; ``plural`` where it is not ``noun + "s"``."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
