"""How far the server's clock is from this machine's, from the ``Date`` header of its answers.

Durations and ages of running jobs are measured from the server's timestamps; measured against
this machine's clock they are off by the difference (a job that started "in the future" reads
0 ms). ``Date`` has whole seconds only, so each answer bounds the offset: the server wrote it
after the request left and before the answer arrived. The bounds of many answers narrow it
down; the estimate is their middle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


class ServerClock:
    """The offset ``server time - local time``, learned from answers' ``Date`` headers."""

    def __init__(self) -> None:
        self._low: float | None = None  # seconds: the offset is at least this
        self._high: float | None = None  # and less than this

    def heard(self, date_header: str | None, sent: datetime, received: datetime) -> None:
        """One answer's ``Date``, with this machine's times of the request and the answer."""
        if not date_header:
            return
        try:
            stamp = parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            return
        if stamp.tzinfo is None:
            return
        low = (stamp - received).total_seconds()
        high = (stamp - sent).total_seconds() + 1.0
        if self._low is None or self._high is None or low >= self._high or high <= self._low:
            # The first answer, or one that contradicts the others (a clock was set): anew.
            self._low, self._high = low, high
            return
        self._low, self._high = max(self._low, low), min(self._high, high)

    @property
    def offset(self) -> timedelta:
        """The best estimate of ``server time - local time`` (zero until an answer came)."""
        if self._low is None or self._high is None:
            return timedelta(0)
        return timedelta(seconds=(self._low + self._high) / 2)
