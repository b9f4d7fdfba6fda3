"""What an OpenQASM parser may see: includes checked on the token stream, comments blanked.

The parsers resolve ``include`` statements from the file system (OpenQASM 3's even relative to
the working directory), so a circuit could make the service read a file of its host. A text
search for ``include`` is fooled by comment markers inside strings (``defcalgrammar "x//";``),
so this module tokenises the program as the parsers do, decides on the tokens, and hands the
parser a text in which the two can no longer disagree:

- comments are blanked (their characters become spaces, their newlines stay, so line and
  column numbers still match what the user wrote);
- every string literal must close on its line and hold only plain characters (no quote,
  backslash, slash or star), so no parser can read a comment or a second string into one;
- every word ``include`` outside comments and strings must be ``include "<allowed>";``.

Anything else is a ``QasmRefused`` naming what was found, never anything of the host.
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

from qjob_tui.text import one_line
from qjob_tui.wire.limits import MOST_DECLARED_BITS

QELIB1 = "qelib1.inc"
STDGATES = "stdgates.inc"
# The include each OpenQASM version's parser carries built in.
BUILT_IN_INCLUDES = {"2": frozenset({QELIB1}), "3": frozenset({STDGATES})}

_PLAIN_STRING = re.compile(r"[A-Za-z0-9_.\- +:,=@#%()\[\]{}<>!?&|^~$]*")
_INCLUDE = "include"
_REGISTER_WORDS = frozenset({"qreg", "creg", "qubit", "bit"})


class QasmRefused(ValueError):
    """The program asks for something a parser must not be given; the message says what."""


# One pass of one pattern over the program: a loop over characters in Python took seconds for
# half a megabyte (the service takes programs of up to 32 MiB).
_LEXEME = re.compile(
    r"""(?P<line_comment>//[^\n]*)
      | (?P<block_comment>/\*.*?\*/)
      | (?P<open_comment>/\*)
      | (?P<string>"[^"\n]*"|'[^'\n]*')
      | (?P<open_string>["'])
      | (?P<word>[A-Za-z0-9_]+)
      | (?P<space>\s+)
      | (?P<other>.)""",
    re.DOTALL | re.VERBOSE,
)
_COMMENT_CHAR = re.compile(r"[^\n]")


class _Token(NamedTuple):
    kind: str  # "word", "string", "other"
    text: str
    at: int  # index in the program: its line and column are worked out only for a message


class _Lines:
    """Line and column of an index, by bisection over the line starts."""

    def __init__(self, text: str) -> None:
        self.starts = [0, *(found.end() for found in re.finditer("\n", text))]

    def where(self, index: int) -> str:
        line = bisect.bisect_right(self.starts, index)
        return f"line {line}, col {index - self.starts[line - 1] + 1}"


def _tokens(text: str) -> tuple[list[_Token], str]:
    """The tokens outside comments, and the text with every comment blanked (its characters
    become spaces, its newlines stay)."""
    tokens: list[_Token] = []
    out: list[str] = []
    for found in _LEXEME.finditer(text):
        kind, lexeme = found.lastgroup, found.group()
        if kind in ("line_comment", "block_comment"):
            out.append(_COMMENT_CHAR.sub(" ", lexeme))
            continue
        if kind == "open_comment":
            where = _Lines(text).where(found.start())
            raise QasmRefused(f"{where}: a /* comment is never closed")
        if kind == "open_string":
            where = _Lines(text).where(found.start())
            raise QasmRefused(f"{where}: a string is not closed on its line")
        if kind == "string":
            tokens.append(_Token("string", lexeme[1:-1], found.start()))
        elif kind in ("word", "other"):
            tokens.append(_Token(kind, lexeme, found.start()))
        out.append(lexeme)
    return tokens, "".join(out)


def _include_problem(
    tokens: list[_Token], at: int, allowed: frozenset[str], lines: _Lines
) -> str | None:
    """Why the include starting at ``tokens[at]`` is refused, or None if it is a built-in."""
    target = tokens[at + 1] if at + 1 < len(tokens) else None
    end = tokens[at + 2] if at + 2 < len(tokens) else None
    where = lines.where(tokens[at].at)
    if target is None or target.kind != "string":
        return f"{where}: 'include' must be followed by a file name in quotes"
    named = one_line(target.text, 60)
    choices = " or ".join(f'"{name}"' for name in sorted(allowed))
    if target.text not in allowed:
        return f'{where}: the program includes "{named}"; only {choices} is provided'
    if end is None or end.text != ";":
        return f'{where}: include "{named}" must end with ";"'
    return None


def screen_qasm(text: str, allowed: frozenset[str]) -> str:
    """The text to give the parser, or ``QasmRefused``: see the module's docstring."""
    tokens, blanked = _tokens(text)
    lines = _Lines(text)
    for at, token in enumerate(tokens):
        if token.kind != "word" or _INCLUDE not in token.text:
            continue
        # "include" glued to a number ("1include") may lex as two tokens: treat it as one.
        if token.text == _INCLUDE or token.text[0].isdigit():
            if token.text != _INCLUDE:
                where = lines.where(token.at)
                raise QasmRefused(f"{where}: '{one_line(token.text, 40)}' hides an include")
            problem = _include_problem(tokens, at, allowed, lines)
            if problem:
                raise QasmRefused(problem)
    for token in tokens:
        if token.kind == "string" and not _PLAIN_STRING.fullmatch(token.text):
            raise QasmRefused(
                f"{lines.where(token.at)}: the string "
                f'"{one_line(token.text, 40)}" holds a quote, backslash, slash, star or '
                "control character, which this service does not accept in a program"
            )
    _check_register_sizes(tokens, lines)
    return blanked


# An integer literal as OpenQASM 3 writes one (2 takes the decimal form): 100_000_000,
# 0x5F5E100, 0b101..., 0o575360400.
_INTEGER = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*")


def _literal_size(text: str) -> int | None:
    """The value of a register size written as an integer literal, else None."""
    if not _INTEGER.fullmatch(text):
        return None
    digits = text.replace("_", "")
    if len(digits) > 40:
        return MOST_DECLARED_BITS + 1  # a literal this long is over any limit
    base = {"x": 16, "b": 2, "o": 8}.get(digits[1:2].lower(), 10) if len(digits) > 1 else 10
    try:
        return int(digits[2:] if base != 10 else digits, base)
    except ValueError:
        return None


def _check_register_sizes(tokens: list[_Token], lines: _Lines) -> None:
    """Registers declared with a literal size (``qreg q[N]``, ``qubit[N] q``) add up to at
    most ``MOST_DECLARED_BITS``: the parsers build every bit, so a 90-byte program declaring
    ``q[100000000]`` took gigabytes before any limit of the backend was asked."""
    total = 0
    for at, token in enumerate(tokens):
        if token.kind != "word" or token.text not in _REGISTER_WORDS:
            continue
        # qreg NAME [ SIZE ]   or   qubit [ SIZE ] NAME
        start = at + 2 if token.text in ("qreg", "creg") else at + 1
        bracket, size = tokens[start : start + 1], tokens[start + 1 : start + 2]
        if not bracket or bracket[0].text != "[" or not size:
            continue
        bits = _literal_size(size[0].text)
        if bits is None:
            continue  # a name or an expression: the parser's own limits apply
        total += bits
        if total > MOST_DECLARED_BITS:
            raise QasmRefused(
                f"{lines.where(token.at)}: the program declares more than "
                f"{MOST_DECLARED_BITS:,} qubits and bits, more than any device or simulator "
                "here runs"
            )
