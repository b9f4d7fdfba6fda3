"""Untrusted text made safe to show: servers' strings never reach a terminal raw.

A job name, a tag or an error message from a server could hold escape sequences that move the
cursor or change the terminal's title; these functions strip them, so that every such string is
shown as plain characters.
"""

from __future__ import annotations

import re

# CSI, OSC (ending in BEL or ST), other ESC sequences, then C0/C1 control characters.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def clean(text: object) -> str:
    """The text without escape sequences and control characters (newlines and tabs kept)."""
    return _ESCAPES.sub("", str(text))


def one_line(text: object, limit: int = 200) -> str:
    """Clean text on one line, whitespace collapsed, cut to ``limit`` characters."""
    line = " ".join(clean(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
