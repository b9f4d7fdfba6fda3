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

import re
from dataclasses import dataclass

from qjob_tui.text import one_line

QELIB1 = "qelib1.inc"
STDGATES = "stdgates.inc"
# The include each OpenQASM version's parser carries built in.
BUILT_IN_INCLUDES = {"2": frozenset({QELIB1}), "3": frozenset({STDGATES})}

_WORD = re.compile(r"[A-Za-z0-9_]+")
_PLAIN_STRING = re.compile(r"[A-Za-z0-9_.\- +:,=@#%()\[\]{}<>!?&|^~$]*")
_INCLUDE = "include"


class QasmRefused(ValueError):
    """The program asks for something a parser must not be given; the message says what."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "other"
    text: str
    line: int
    col: int


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _blank(chunk: str) -> str:
    return "".join("\n" if char == "\n" else " " for char in chunk)


def _tokens(text: str) -> tuple[list[_Token], str]:
    """The tokens outside comments, and the text with every comment blanked."""
    tokens: list[_Token] = []
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(_blank(text[i:end]))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                line, col = _position(text, i)
                raise QasmRefused(f"line {line}, col {col}: a /* comment is never closed")
            out.append(_blank(text[i : end + 2]))
            i = end + 2
        elif char in "\"'":
            end = text.find(char, i + 1)
            newline = text.find("\n", i + 1)
            line, col = _position(text, i)
            if end < 0 or 0 <= newline < end:
                raise QasmRefused(f"line {line}, col {col}: a string is not closed on its line")
            tokens.append(_Token("string", text[i + 1 : end], line, col))
            out.append(text[i : end + 1])
            i = end + 1
        elif match := _WORD.match(text, i):
            line, col = _position(text, i)
            tokens.append(_Token("word", match.group(), line, col))
            out.append(match.group())
            i = match.end()
        else:
            if not char.isspace():
                line, col = _position(text, i)
                tokens.append(_Token("other", char, line, col))
            out.append(char)
            i += 1
    return tokens, "".join(out)


def _include_problem(tokens: list[_Token], at: int, allowed: frozenset[str]) -> str | None:
    """Why the include starting at ``tokens[at]`` is refused, or None if it is a built-in."""
    target = tokens[at + 1] if at + 1 < len(tokens) else None
    end = tokens[at + 2] if at + 2 < len(tokens) else None
    token = tokens[at]
    where = f"line {token.line}, col {token.col}"
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
    for at, token in enumerate(tokens):
        if token.kind != "word" or _INCLUDE not in token.text:
            continue
        # "include" glued to a number ("1include") may lex as two tokens: treat it as one.
        if token.text == _INCLUDE or token.text[0].isdigit():
            if token.text != _INCLUDE:
                where = f"line {token.line}, col {token.col}"
                raise QasmRefused(f"{where}: '{one_line(token.text, 40)}' hides an include")
            problem = _include_problem(tokens, at, allowed)
            if problem:
                raise QasmRefused(problem)
    for token in tokens:
        if token.kind == "string" and not _PLAIN_STRING.fullmatch(token.text):
            raise QasmRefused(
                f"line {token.line}, col {token.col}: the string "
                f'"{one_line(token.text, 40)}" holds a quote, backslash, slash, star or '
                "control character, which this service does not accept in a program"
            )
    return blanked
