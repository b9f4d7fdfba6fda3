"""The job list's model: every job by key, and the sorted, filtered order the list shows.

No Textual here: the widget draws whatever rows this says, and tests check sorting, filtering
and updates directly. A poll changes a few rows of many, so ``apply`` moves only the rows whose
sort key changed (found by bisection in the sorted key list) and leaves every other row where it
is; a full sort runs only when the user picks another sort column or direction.

The order is kept as one ascending list of entries ``(group, value, created, key, text, job)``;
a descending sort reads it backwards, so a row's index is found by bisection in both directions.
The job's key comes fourth, so two entries never tie and the order is the same on every run;
the search text and the job ride along so that a filter keystroke and drawing a row touch no
dictionary.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from qjob_tui.model import Job, JobStatus
from qjob_tui.store.changes import ChangeSet, JobKey
from qjob_tui.text import one_line
from qjob_tui.ui.formatting import duration_bounds, queue_position


class Column(StrEnum):
    """The job list's columns, in the order they are shown and cycled through by sort."""

    STATUS = "status"
    SOURCE = "source"
    ID = "id"
    NAME = "name"
    BACKEND = "backend"
    PROGRAM = "program"
    CREATED = "created"
    DURATION = "duration"
    QUEUE = "queue"
    TAGS = "tags"


# Columns whose natural first direction is descending: the newest jobs first.
DEFAULT_REVERSE = frozenset({Column.CREATED})

# Ascending status order puts what needs attention first: running, then waiting, then failed.
STATUS_RANK: dict[JobStatus, int] = {
    JobStatus.RUNNING: 0,
    JobStatus.VALIDATING: 1,
    JobStatus.QUEUED: 2,
    JobStatus.INITIALIZING: 3,
    JobStatus.ERROR: 4,
    JobStatus.CANCELLED: 5,
    JobStatus.DONE: 6,
}

StatusFilter = Literal["active", "failed"]
STATUS_FILTERS: dict[str, frozenset[JobStatus]] = {
    "active": frozenset(s for s in JobStatus if s.is_active),
    "failed": frozenset({JobStatus.ERROR}),
}

# A filter starting with this prefix is a regular expression; anything else is a substring.
REGEX_PREFIX = "re:"
INVERT_PREFIX = "!"

# (group, value, created tie-break, job key, search text, job): a tuple so Python compares it in
# C. The key is unique, so comparisons never reach the text or the job.
Entry = tuple[int, Any, float, JobKey, str, Job]
KEY, TEXT, JOB = 3, 4, 5
# A column's value of a job: (group, comparable value), or None when the job has none.
Value = tuple[int, Any] | None

# Below this many rows moved, moving them one by one (bisect + list insert) is cheapest.
SMALL_SPLICE = 16


class FilterError(ValueError):
    """The filter text cannot be used (an invalid regular expression); the message says why."""


@dataclass(frozen=True)
class RowsUpdate:
    """What one ``apply`` did to the visible rows, so the view repaints only what it must.

    ``changed`` are indices of rows whose job changed but did not move, reported only when
    nothing else moved. ``reordered`` is true when rows moved, appeared or disappeared:
    indices shifted, and the view must compare what it shows with the new order.
    """

    changed: tuple[int, ...] = ()
    reordered: bool = False
    marks_dropped: int = 0

    @property
    def empty(self) -> bool:
        return not (self.changed or self.reordered or self.marks_dropped)


@dataclass(frozen=True)
class TextFilter:
    """A parsed filter: a lower-cased substring or a case-insensitive regex, maybe inverted."""

    needle: str
    regex: re.Pattern[str] | None = None
    invert: bool = False

    def matches(self, haystack: str) -> bool:
        if self.regex is not None:
            hit = self.regex.search(haystack) is not None
        else:
            hit = self.needle in haystack
        return hit != self.invert


def parse_filter(text: str) -> TextFilter | None:
    """Read the filter box: ``foo`` substring, ``re:fo+`` regex, a leading ``!`` inverts.

    Matching is case-insensitive in both forms; in a regex ``^`` and ``$`` match at the start
    and end of each field (see ``haystack``). An empty pattern (while typing ``!`` or
    ``re:``) filters nothing. An invalid regex raises FilterError with a readable reason.
    """
    body = text.strip()
    invert = body.startswith(INVERT_PREFIX)
    if invert:
        body = body[len(INVERT_PREFIX) :].lstrip()
    if body.startswith(REGEX_PREFIX):
        source = body[len(REGEX_PREFIX) :]
        if not source:
            return None
        try:
            regex = re.compile(source, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            raise FilterError(
                f"invalid regular expression {one_line(source, 40)!r}: {exc.msg}{where}"
            ) from None
        return TextFilter(source, regex, invert)
    if not body:
        return None
    return TextFilter(body.lower(), None, invert)


_STATUS_TEXT = {status: status.value for status in JobStatus}


def haystack(job: Job) -> str:
    """The text a filter searches: id, name, tags, backend, status, program and source.

    Fields are joined by newlines so a substring never matches across two fields. Built once
    per job version (about 0.5 µs), so a keystroke only scans strings.
    """
    return (
        f"{job.id}\n{job.name or ''}\n{' '.join(job.tags)}\n{job.backend or ''}\n"
        f"{_STATUS_TEXT[job.status]}\n{job.program or ''}\n{job.source}"
    ).lower()


def _optional_text(get: Callable[[Job], str | None]) -> Callable[[Job], Value]:
    def value(job: Job) -> Value:
        text = get(job)
        return (0, text.casefold()) if text else None

    return value


def _duration_value(job: Job) -> Value:
    # Finished jobs by running time; active ones after them by how long they have gone on,
    # expressed through their start so the key does not change as the clock moves.
    bounds = duration_bounds(job)
    if bounds is None:
        return None
    start, end = bounds
    if end is not None:
        return (0, (end - start).total_seconds())
    return (1, -start.timestamp())


def _queue_value(job: Job) -> Value:
    position = queue_position(job)
    return None if position is None else (0, position)


def _tags_value(job: Job) -> Value:
    return (0, ", ".join(job.tags).casefold()) if job.tags else None


COLUMN_VALUES: dict[Column, Callable[[Job], Value]] = {
    Column.STATUS: lambda job: (0, STATUS_RANK[job.status]),
    Column.SOURCE: lambda job: (0, job.source.casefold()),
    Column.ID: lambda job: (0, job.id.casefold()),
    Column.NAME: _optional_text(lambda job: job.name),
    Column.BACKEND: _optional_text(lambda job: job.backend),
    Column.PROGRAM: _optional_text(lambda job: job.program),
    Column.CREATED: lambda job: (0, job.created.timestamp()),
    Column.DURATION: _duration_value,
    Column.QUEUE: _queue_value,
    Column.TAGS: _tags_value,
}

_MISSING_LAST = 1 << 30


def entry_function(column: Column, reverse: bool) -> Callable[[Job, JobKey, str], Entry]:
    """The entry of a job (given with its key and search text) for one column and direction.

    The list is stored ascending and read backwards when ``reverse``; so that the backwards
    reading still shows ties newest first and jobs without a value last, a descending entry
    puts missing values first and orders ties oldest first.
    """
    if column is Column.CREATED:
        # The default sort, and the one 100,000 cached jobs load with: no detour via a value.
        group = 1 if reverse else 0
        sign = 1.0 if reverse else -1.0

        def by_created(job: Job, key: JobKey, text: str) -> Entry:
            created = job.created.timestamp()
            return (group, created, sign * created, key, text, job)

        return by_created
    value_of = COLUMN_VALUES[column]
    if not reverse:

        def ascending(job: Job, key: JobKey, text: str) -> Entry:
            value = value_of(job)
            created = job.created.timestamp()
            if value is None:
                return (_MISSING_LAST, 0, -created, key, text, job)
            return (value[0], value[1], -created, key, text, job)

        return ascending

    def descending(job: Job, key: JobKey, text: str) -> Entry:
        value = value_of(job)
        created = job.created.timestamp()
        if value is None:
            return (0, 0, created, key, text, job)
        return (value[0] + 1, value[1], created, key, text, job)

    return descending


def _locate(entries: list[Entry], entry: Entry) -> int:
    """The index of this very entry (the object in the list) in a sorted list."""
    index = bisect_left(entries, entry)
    if index == len(entries) or entries[index] is not entry:
        raise LookupError(f"the entry of {entry[KEY]} is not in the list")
    return index


def _splice(entries: list[Entry], remove: list[Entry], add: list[Entry]) -> list[Entry]:
    """The sorted list without ``remove`` and with ``add``, without sorting it all again.

    A few entries are moved in place; many are cut out by index and merged back in by
    bisection, which copies the list once instead of once per entry.
    """
    if len(remove) + len(add) <= SMALL_SPLICE:
        for entry in remove:
            del entries[_locate(entries, entry)]
        for entry in add:
            insort(entries, entry)
        return entries
    kept = entries
    if remove:
        kept = []
        start = 0
        for index in sorted(_locate(entries, entry) for entry in remove):
            kept += entries[start:index]
            start = index + 1
        kept += entries[start:]
    if not add:
        return kept
    add.sort()
    if len(add) * 8 >= len(kept):
        merged = kept + add
        merged.sort()  # two sorted runs: Timsort merges them in one pass
        return merged
    out: list[Entry] = []
    start = 0
    for entry in add:
        index = bisect_left(kept, entry, start)
        out += kept[start:index]
        out.append(entry)
        start = index
    out += kept[start:]
    return out


@dataclass
class _Splice:
    """What one change set takes out of and puts into the sorted lists, gathered first."""

    remove_all: list[Entry] = field(default_factory=list)
    add_all: list[Entry] = field(default_factory=list)
    remove_visible: list[Entry] = field(default_factory=list)
    add_visible: list[Entry] = field(default_factory=list)
    in_place: list[tuple[int, Entry]] = field(default_factory=list)
    marks_dropped: int = 0


class JobRows:
    """Jobs by ``(source, id)`` and the visible ones in sort order, with marks for bulk actions.

    Marks belong to jobs, not rows: they survive sorting and filtering and go when the job
    goes. Indices are positions in the visible order (0 is the top row).
    """

    def __init__(
        self,
        jobs: Iterable[Job] = (),
        *,
        sort: Column | str = Column.CREATED,
        reverse: bool | None = None,
    ) -> None:
        self._entries: dict[JobKey, Entry] = {}
        self._all: list[Entry] = []
        self._visible: list[Entry] = self._all
        self._marks: set[JobKey] = set()
        self._sources: Counter[str] = Counter()
        self._column = Column(sort)
        self._reverse = self._column in DEFAULT_REVERSE if reverse is None else reverse
        self._entry_of = entry_function(self._column, self._reverse)
        self._text: TextFilter | None = None
        self._filter_text = ""
        self._status: StatusFilter | None = None
        self._owners: frozenset[tuple[str, str]] | None = None  # (source, user id): "only mine"
        self.max_id_length = 0
        jobs = tuple(jobs)
        if jobs:
            self.apply(ChangeSet(added=jobs))

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of visible rows."""
        return len(self._visible)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def total(self) -> int:
        """Every job held, visible or filtered out."""
        return len(self._entries)

    @property
    def sources(self) -> list[str]:
        """The sources that have jobs here, sorted."""
        return sorted(self._sources)

    def job(self, key: JobKey) -> Job | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[JOB]

    def row(self, index: int) -> Job:
        """The job shown at a visible index; IndexError outside ``0 <= index < len``."""
        return self._entry_at(index)[JOB]

    def key_at(self, index: int) -> JobKey:
        return self._entry_at(index)[KEY]

    def _entry_at(self, index: int) -> Entry:
        count = len(self._visible)
        if not 0 <= index < count:
            raise IndexError(f"row {index} of {count}")
        return self._visible[count - 1 - index if self._reverse else index]

    def sorts_before(self, job: Job, other: Job) -> bool:
        """Whether ``job`` is shown above ``other`` in the current order."""
        mine = self._entry_of(job, (job.source, job.id), "")
        theirs = self._entry_of(other, (other.source, other.id), "")
        return (
            mine[: KEY + 1] > theirs[: KEY + 1]
            if self._reverse
            else mine[: KEY + 1] < theirs[: KEY + 1]
        )

    def index_of(self, key: JobKey) -> int | None:
        """Where a job is shown, or None if it is unknown or filtered out."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        index = bisect_left(self._visible, entry)
        if index == len(self._visible) or self._visible[index] is not entry:
            return None
        return self._visual(index)

    def __iter__(self) -> Iterator[Job]:
        """The visible jobs, top to bottom."""
        order = reversed(self._visible) if self._reverse else iter(self._visible)
        return (entry[JOB] for entry in order)

    def _visual(self, index: int) -> int:
        return len(self._visible) - 1 - index if self._reverse else index

    # --- updates -------------------------------------------------------------------------

    def apply(self, changes: ChangeSet) -> RowsUpdate:
        """Take one change set: upsert added and changed jobs, drop removed ones.

        A changed job whose sort position did not change gets its new entry in the same
        place and is reported by index; moved, new and removed jobs are spliced in and out.
        """
        upserts: dict[JobKey, Job] = {(job.source, job.id): job for job in changes.added}
        upserts.update(((job.source, job.id), job) for job in changes.changed)
        if not self._entries and not changes.removed:
            return self._load_fresh(upserts)
        plan = _Splice()
        for key in changes.removed:
            upserts.pop(key, None)
            self._remove(key, plan)
        for key, job in upserts.items():
            self._upsert(key, job, plan)
        return self._commit(plan)

    def _remove(self, key: JobKey, plan: _Splice) -> None:
        """Take a removed job out of the entries, its source count and the marks."""
        gone = self._entries.pop(key, None)
        if gone is None:
            return
        plan.remove_all.append(gone)
        if self.filtered and self._passes(gone):
            plan.remove_visible.append(gone)
        source = key[0]
        self._sources[source] -= 1
        if not self._sources[source]:
            del self._sources[source]
        if key in self._marks:
            self._marks.discard(key)
            plan.marks_dropped += 1

    def _upsert(self, key: JobKey, job: Job, plan: _Splice) -> None:
        """A new or changed job: spliced in if new or moved, else swapped where it stands."""
        filtered, entries = self.filtered, self._entries
        old = entries.get(key)
        if old is not None and old[JOB] is job:
            return
        new = entries[key] = self._entry_of(job, key, haystack(job))
        is_visible = not filtered or self._passes(new)
        if old is None:
            self._sources[key[0]] += 1
            self.max_id_length = max(self.max_id_length, len(key[1]))
            plan.add_all.append(new)
            if filtered and is_visible:
                plan.add_visible.append(new)
            return
        was_visible = not filtered or self._passes(old)
        if new[:3] != old[:3]:  # the job moves
            plan.remove_all.append(old)
            plan.add_all.append(new)
            if was_visible:
                plan.remove_visible.append(old)
            if is_visible:
                plan.add_visible.append(new)
            return
        # Same place: swap the entry where it stands, no list is rebuilt.
        at = _locate(self._all, old)
        self._all[at] = new
        if not filtered:
            plan.in_place.append((at, new))
        elif was_visible and is_visible:
            at = _locate(self._visible, old)
            self._visible[at] = new
            plan.in_place.append((at, new))
        elif was_visible:
            plan.remove_visible.append(old)
        elif is_visible:
            plan.add_visible.append(new)

    def _commit(self, plan: _Splice) -> RowsUpdate:
        """Splice the planned entries in and out of the sorted lists, once each."""
        if plan.remove_all or plan.add_all:
            self._all = _splice(self._all, plan.remove_all, plan.add_all)
        if self.filtered:
            reordered = bool(plan.remove_visible or plan.add_visible)
            if reordered:
                self._visible = _splice(self._visible, plan.remove_visible, plan.add_visible)
        else:
            reordered = bool(plan.remove_all or plan.add_all)
            self._visible = self._all
        # After a splice the indices found above are stale, and a reordered view compares
        # its rows anyway: ``changed`` is only reported when nothing moved.
        changed = () if reordered else tuple(sorted(self._visual(at) for at, _ in plan.in_place))
        return RowsUpdate(changed=changed, reordered=reordered, marks_dropped=plan.marks_dropped)

    def _load_fresh(self, jobs: dict[JobKey, Job]) -> RowsUpdate:
        """The first load (often 100,000 jobs from the cache): one sort, no bookkeeping per row."""
        if not jobs:
            return RowsUpdate()
        entry_of = self._entry_of
        everything = [entry_of(job, key, haystack(job)) for key, job in jobs.items()]
        self._entries = {entry[KEY]: entry for entry in everything}
        everything.sort()
        self._all = everything
        self._sources = Counter(key[0] for key in jobs)
        self.max_id_length = max(len(key[1]) for key in jobs)
        self._refilter(self._all)
        return RowsUpdate(reordered=True)

    def load(self, jobs: Iterable[Job]) -> RowsUpdate:
        """Add (or update) many jobs at once, e.g. from the cache at start-up."""
        return self.apply(ChangeSet(added=tuple(jobs)))

    # --- sorting -------------------------------------------------------------------------

    @property
    def sort_column(self) -> Column:
        return self._column

    @property
    def sort_reverse(self) -> bool:
        return self._reverse

    def set_sort(self, column: Column | str, reverse: bool | None = None) -> bool:
        """Sort by a column; ``reverse=None`` picks its natural direction. True if it changed.

        Keys are rebuilt in the current order, so flipping the direction sorts a list that is
        already nearly in order, which Timsort does in close to one pass.
        """
        column = Column(column)
        if reverse is None:
            reverse = column in DEFAULT_REVERSE
        if column == self._column and reverse == self._reverse:
            return False
        self._column, self._reverse = column, reverse
        self._entry_of = entry_of = entry_function(column, reverse)
        entries = {old[KEY]: entry_of(old[JOB], old[KEY], old[TEXT]) for old in self._all}
        everything = list(entries.values())
        everything.sort()
        self._entries = entries
        self._all = everything
        if self.filtered:
            visible = [entries[old[KEY]] for old in self._visible]
            visible.sort()
            self._visible = visible
        else:
            self._visible = everything
        return True

    def cycle_sort(self, columns: Sequence[Column | str] | None = None) -> Column:
        """Sort by the next column (of ``columns``, default all), in its natural direction."""
        order = [Column(c) for c in columns] if columns else list(Column)
        if self._column in order:
            following = order[(order.index(self._column) + 1) % len(order)]
        else:
            following = order[0]
        self.set_sort(following)
        return following

    def toggle_reverse(self) -> bool:
        """Flip the sort direction; returns the new ``sort_reverse``."""
        self.set_sort(self._column, not self._reverse)
        return self._reverse

    # --- filtering -----------------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        return self._filter_text

    @property
    def status_filter(self) -> StatusFilter | None:
        return self._status

    @property
    def filtered(self) -> bool:
        """True when some jobs may be hidden by the text or status filter."""
        return self._text is not None or self._status is not None or self._owners is not None

    def set_filter(self, text: str) -> bool:
        """Show only jobs matching ``text`` (see ``parse_filter``). True if the rows changed.

        Raises FilterError for an invalid regex and keeps the filter it had. Typing one more
        character of a substring only narrows the rows shown, so only those are searched.
        """
        parsed = parse_filter(text)
        self._filter_text = text
        if parsed == self._text:
            return False
        old = self._text
        self._text = parsed
        narrower = (
            old is not None
            and parsed is not None
            and old.regex is None
            and parsed.regex is None
            and not old.invert
            and not parsed.invert
            and old.needle in parsed.needle
        )
        self._refilter(self._visible if narrower else self._all)
        return True

    def set_status_filter(self, which: StatusFilter | None) -> bool:
        """Show only active or failed jobs, or all (None). True if the rows changed."""
        if which is not None and which not in STATUS_FILTERS:
            raise ValueError(f"unknown status filter {which!r}: use 'active', 'failed' or None")
        if which == self._status:
            return False
        narrower = self._status is None
        self._status = which
        self._refilter(self._visible if narrower else self._all)
        return True

    @property
    def owner_filter(self) -> frozenset[tuple[str, str]] | None:
        return self._owners

    def set_owner_filter(self, owners: frozenset[tuple[str, str]] | None) -> bool:
        """Show only jobs submitted by these (source, user id)s, or all (None)."""
        if owners == self._owners:
            return False
        narrower = self._owners is None
        self._owners = owners
        self._refilter(self._visible if narrower else self._all)
        return True

    def _passes(self, entry: Entry) -> bool:
        if self._owners is not None and (entry[JOB].source, entry[JOB].user_id) not in self._owners:
            return False
        if self._status is not None and entry[JOB].status not in STATUS_FILTERS[self._status]:
            return False
        return self._text is None or self._text.matches(entry[TEXT])

    def _refilter(self, source: list[Entry]) -> None:
        """The visible rows: those of ``source`` (sorted) that pass the filters, in order."""
        if not self.filtered:
            self._visible = self._all
            return
        if self._owners is not None:
            owners = self._owners
            source = [e for e in source if (e[JOB].source, e[JOB].user_id) in owners]
        if self._status is not None:
            allowed = STATUS_FILTERS[self._status]
            source = [e for e in source if e[JOB].status in allowed]
        text = self._text
        if text is None:
            self._visible = source
        elif text.regex is not None:
            search = text.regex.search
            if text.invert:
                self._visible = [e for e in source if search(e[TEXT]) is None]
            else:
                self._visible = [e for e in source if search(e[TEXT]) is not None]
        elif text.invert:
            needle = text.needle
            self._visible = [e for e in source if needle not in e[TEXT]]
        else:
            needle = text.needle
            self._visible = [e for e in source if needle in e[TEXT]]

    # --- marks ---------------------------------------------------------------------------

    @property
    def marked(self) -> frozenset[JobKey]:
        """The marked jobs, visible or not."""
        return frozenset(self._marks)

    @property
    def mark_count(self) -> int:
        return len(self._marks)

    def is_marked(self, key: JobKey) -> bool:
        return key in self._marks

    def toggle_mark(self, key: JobKey) -> bool:
        """Mark or unmark a job; returns whether it is now marked. Unknown keys stay unmarked."""
        if key in self._marks:
            self._marks.discard(key)
            return False
        if key not in self._entries:
            return False
        self._marks.add(key)
        return True

    def mark_visible(self) -> int:
        """Mark every visible job; returns how many are marked now."""
        self._marks.update(entry[KEY] for entry in self._visible)
        return len(self._marks)

    @property
    def visible_marked(self) -> list[JobKey]:
        """The marked jobs the filters let through, in list order."""
        found = [(index, key) for key in self._marks if (index := self.index_of(key)) is not None]
        return [key for _, key in sorted(found)]

    def clear_marks(self) -> int:
        """Unmark every job; returns how many were marked."""
        count = len(self._marks)
        self._marks.clear()
        return count
