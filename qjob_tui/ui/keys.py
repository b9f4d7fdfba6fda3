"""The binding ids a keymap in config.toml may name, and the check of a keymap against them.

Every binding of the dashboard that a user may remap has a stable id ("app.cancel",
"job_list.cursor_down"); a keymap entry naming any other id would be ignored by Textual without
a word, so it is reported (with the nearest real id) and left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches


def check_keymap(
    keymap: Mapping[str, str], known: frozenset[str], where: str = "config.toml"
) -> tuple[dict[str, str], list[str]]:
    """The entries whose id is known, and one line for each one that is not."""
    kept: dict[str, str] = {}
    problems = []
    for binding_id, keys in keymap.items():
        if binding_id in known:
            kept[binding_id] = keys
            continue
        near = get_close_matches(binding_id, sorted(known), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        problems.append(f"{where}: keymap {binding_id!r} is no key binding of qjob-tui{hint}")
    return kept, problems
