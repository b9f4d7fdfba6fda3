"""How much quantum time each source has used and has left, for the status line.

A source without a limit shows its time used; one with a limit (an IBM instance, or the local
service's ``serve --usage-limit``) shows used and left, and a warning when under 10 % is left.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from qjob_tui.model import InstanceUsage
from qjob_tui.text import one_line
from qjob_tui.ui.formatting import compact_duration

WARNING_GLYPH = "⚠"


def usage_words(usage: InstanceUsage) -> str:
    """ "12 s used", or "9 min used, 1 min left (10 %)" where there is a limit."""
    used = f"{compact_duration(usage.consumed_seconds)} used"
    left = usage.remaining_seconds
    if left is None:
        return used
    share = usage.fraction_left or 0.0
    if usage.limit_reached or left <= 0:
        return f"{used}, limit reached"
    return f"{used}, {compact_duration(left)} left ({share:.0%})".replace("%)", " %)")


def usage_text(usage: Mapping[str, InstanceUsage], several: bool = True) -> Text:
    """One segment per source, warnings first, each prefixed by the source when several."""
    text = Text(no_wrap=True, overflow="ellipsis")
    order = sorted(usage.items(), key=lambda item: (not item[1].low, item[0]))
    for source, item in order:
        if text:
            text.append(" · ", style="dim")
        words = usage_words(item)
        label = f"{one_line(source, 20)} " if several else ""
        if item.low:  # under LOW_USAGE_FRACTION left
            text.append(f"{WARNING_GLYPH} {label}{words}", style="bold red")
        else:
            text.append(f"{label}{words}")
    return text
