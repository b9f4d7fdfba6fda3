"""Checks at the service's edge: hostile JSON becomes a 400 that names the field and the rule.

A request body is parsed once, then walked once. What passes can be stored and served back by
any JSON encoder: every number is finite and fits SQLite's 64-bit integers, nesting is shallow
enough for any recursive reader, and every string is valid Unicode (no lone surrogates, which
SQLite and UTF-8 encoders refuse).
"""

from __future__ import annotations

import json
import math
from typing import Any

from qjob_tui.wire.limits import INT64_MAX, INT64_MIN

# Deeper than any IBM program's params (runtime-encoded pubs nest about six levels).
MAX_DEPTH = 64
# Longer integer literals are refused before Python turns them into an int at all.
_MAX_INT_DIGITS = 20


class InvalidInput(Exception):
    """Input the client must fix; ``status`` is the HTTP status IBM would answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class _LongInteger(int):
    """An integer literal too long to read: kept as its digit count, refused by ``check``."""

    digits: int

    def __new__(cls, text: str) -> _LongInteger:
        value = super().__new__(cls, 0)
        value.digits = len(text.lstrip("-"))
        return value


def _parse_int(text: str) -> int:
    return _LongInteger(text) if len(text) > _MAX_INT_DIGITS else int(text)


def parse_body(raw: bytes) -> Any:
    """The JSON document in ``raw``, checked by ``check``; raises InvalidInput."""
    try:
        document = json.loads(raw or b"null", parse_int=_parse_int)
    except RecursionError:
        raise InvalidInput(
            f"the request body nests arrays or objects deeper than {MAX_DEPTH} levels"
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from None
    check(document)
    return document


def check(document: Any, root: str = "") -> None:
    """Refuse a parsed document that JSON, SQLite or a recursive reader cannot take back."""
    stack: list[tuple[Any, str, int]] = [(document, root, 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _has_surrogate(value):
                raise InvalidInput(f"{_name(path)} is not valid Unicode (a lone surrogate)")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if isinstance(value, _LongInteger):
                raise InvalidInput(
                    f"{_name(path)} is out of range ({value.digits} digits); integers must be "
                    f"within {INT64_MIN}..{INT64_MAX}"
                )
            if not INT64_MIN <= value <= INT64_MAX:
                raise InvalidInput(
                    f"{_name(path)} is out of range; integers must be within "
                    f"{INT64_MIN}..{INT64_MAX}"
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInput(
                    f"{_name(path)} is {value!r}; numbers must be finite (JSON has no NaN or "
                    "Infinity)"
                )
        elif isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise InvalidInput(
                    f"{_name(path)} nests arrays or objects deeper than {MAX_DEPTH} levels"
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    if not key.isascii() and _has_surrogate(key):
                        raise InvalidInput(f"a key of {_name(path)} is not valid Unicode")
                    stack.append((item, f"{path}.{key}" if path else key, depth + 1))
            else:
                for index, item in enumerate(value):
                    stack.append((item, f"{path}[{index}]", depth + 1))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _name(path: str) -> str:
    return path or "the request body"


def stored_json(text: str) -> Any:
    """Stored JSON, read back for serving; what cannot be served cleanly becomes None.

    Jobs stored before these checks (or by another version) may hold NaN, Infinity or deep
    nesting; serving must never fail on them, so such values are replaced, not raised.
    """
    try:
        value = json.loads(text, parse_constant=lambda _: None)
    except (ValueError, RecursionError):
        return None
    try:
        check(value)
    except InvalidInput:
        return sanitized(value)
    return value


def sanitized(value: Any, depth: int = 0) -> Any:
    """A copy that any strict JSON encoder takes: non-finite numbers and bad strings as None."""
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, str):
        return None if _has_surrogate(value) else value
    if isinstance(value, list):
        return [sanitized(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            str(sanitized(key, depth + 1)): sanitized(item, depth + 1)
            for key, item in value.items()
        }
    return value
