"""The query of ``GET /jobs``, read once for the service and the relay: IBM's rules, one message
for each mistake.

``read_job_query`` takes the query's (name, value) pairs as they arrived (a name may repeat)
and gives back a ``JobQuery`` or a ``QueryRefused`` whose message is the 400's. It is total:
no value, however long or strange, makes it raise. The rules follow IBM's OpenAPI description
(``shared/reference/ibm-quantum-api.md`` §1.5): ``limit`` outside 1..200 falls back to 200
without an error; ``offset`` must be 0 or more; ``sort`` is ``ASC`` or ``DESC``; ``backend``,
``program`` and ``session_id`` have length limits; ``tags`` repeat and must all match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from qjob_tui.model import MAX_TAG_LENGTH, MAX_TAGS, has_control, tag_problem
from qjob_tui.wire.limits import INT64_MAX

DEFAULT_LIMIT = 200
MOST_LIMIT = 200
MOST_OFFSET = INT64_MAX  # SQLite's (and IBM's int64) largest integer
# Lengths IBM allows a filter (OpenAPI); a session id has no stated limit: ours.
FILTER_LENGTHS = {"backend": 100, "program": 63, "session_id": 200}
FLAGS = ("pending", "exclude_params")
TIMES = ("created_after", "created_before")
# Names that may be given once only; ``tags`` may repeat.
SINGLE = ("limit", "offset", "sort", *FLAGS, *FILTER_LENGTHS, *TIMES)
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
_DIGITS = re.compile(r"[+-]?[0-9]{1,30}")  # ASCII only: int() also reads '٣' and ' 5'
_LONGEST_TIME = 64  # characters of an ISO 8601 time with every part


@dataclass(frozen=True)
class JobQuery:
    """What a ``GET /jobs`` asks for; times are aware UTC."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    pending: bool | None = None
    backend: str | None = None
    program: str | None = None
    session_id: str | None = None
    tags: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    descending: bool = True
    exclude_params: bool = False


@dataclass(frozen=True)
class QueryRefused:
    """Why the query cannot be answered: the message of a 400."""

    message: str


class _Refused(Exception):
    pass


def shown(value: object, limit: int = 60) -> str:
    """A caller's value quoted in a message, cut short: a 10 KB value makes a 10 KB error."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_job_query(params: Iterable[tuple[str, str]]) -> JobQuery | QueryRefused:
    """The query's pairs as a JobQuery, or why not (see the module's rules)."""
    given: dict[str, list[str]] = {}
    for name, value in params:
        given.setdefault(name, []).append(value)
    try:
        return _read(given)
    except _Refused as refused:
        return QueryRefused(str(refused))


def _read(given: dict[str, list[str]]) -> JobQuery:
    for name in SINGLE:
        if len(given.get(name, ())) > 1:
            raise _Refused(f"{name} can be given once, not {len(given[name])} times")
    one = {name: values[0] for name, values in given.items() if name in SINGLE and values[0]}
    sort = one.get("sort", "DESC").upper()
    if sort not in ("ASC", "DESC"):
        raise _Refused(f"sort must be ASC or DESC, not {shown(one['sort'])}")
    filters = {name: _filter(name, one.get(name), most) for name, most in FILTER_LENGTHS.items()}
    flags = {name: _flag(name, one.get(name)) for name in FLAGS}
    times = {name: _time(name, one.get(name)) for name in TIMES}
    return JobQuery(
        limit=_limit(one.get("limit")),
        offset=_offset(one.get("offset")),
        pending=flags["pending"],
        tags=_tags(given.get("tags", [])),
        descending=sort == "DESC",
        exclude_params=bool(flags["exclude_params"]),
        **filters,
        **times,
    )


def read_flag(name: str, text: str | None) -> bool | QueryRefused | None:
    """A true/false parameter (None when absent or empty), by the job list's rules; also
    ``exclude_params`` of ``GET /jobs/{id}``."""
    try:
        return _flag(name, text or None)
    except _Refused as refused:
        return QueryRefused(str(refused))


def read_time(name: str, text: str) -> datetime | QueryRefused:
    """One time filter (``created_after``, ``created_before``) by the job list's rules; the
    workload list reads its own with it."""
    try:
        moment = _time(name, text)
    except _Refused as refused:
        return QueryRefused(str(refused))
    assert moment is not None  # a text was given
    return moment


def _number(text: str) -> int | None:
    """ASCII digits with an optional sign as an int; None for anything else."""
    return int(text) if _DIGITS.fullmatch(text) else None


def _limit(text: str | None) -> int:
    """IBM: "If the provided value is outside of the viable range, no error occurs and the
    default value is used instead"."""
    number = _number(text) if text is not None else None
    return number if number is not None and 1 <= number <= MOST_LIMIT else DEFAULT_LIMIT


def _offset(text: str | None) -> int:
    if text is None:
        return 0
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise _Refused(f"offset must be an integer, not {shown(text, 40)}")
    number = _number(text)
    if number is None or not 0 <= number <= MOST_OFFSET:
        raise _Refused(f"offset must be within 0..{MOST_OFFSET}, not {shown(text, 40)}")
    return number


def _flag(name: str, text: str | None) -> bool | None:
    if text is None:
        return None
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise _Refused(f"{name} must be true or false, not {shown(text)}")


def _filter(name: str, text: str | None, most: int) -> str | None:
    if text is None:
        return None
    if len(text) > most:
        raise _Refused(f"{name} can be at most {most} characters, not {len(text)}")
    if has_control(text):
        raise _Refused(f"{name} cannot contain control characters")
    return text


def _tags(values: list[str]) -> tuple[str, ...]:
    tags = tuple(dict.fromkeys(tag for tag in values if tag))
    if len(tags) > MAX_TAGS:
        raise _Refused(
            f"at most {MAX_TAGS} different tags can be given (a job has at most {MAX_TAGS}), "
            f"not {len(tags)}"
        )
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise _Refused(f"a tags filter can be at most {MAX_TAG_LENGTH} characters")
    problem = tag_problem(tags)  # no tag can hold what a filter holds: say so, as for a tag
    if problem is not None:
        raise _Refused(f"tags filter: {problem}")
    return tags


def _time(name: str, text: str | None) -> datetime | None:
    """An ISO 8601 time as aware UTC (a time without a zone is UTC, as IBM reads it)."""
    if text is None:
        return None
    from dateutil.parser import isoparse

    refused = _Refused(f"{name} must be an ISO 8601 date-time, not {shown(text)}")
    if len(text) > _LONGEST_TIME or not text.isascii():
        raise refused
    try:
        moment = isoparse(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise refused from None
