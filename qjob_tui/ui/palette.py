"""The command palette's commands: every action of the registry that has a palette title.

Built from ui/actions.py, so the palette and the keys never drift apart: a new action shows up
here too, remapped keys are shown as mapped, and ``--readonly`` leaves out what it forbids.
``:`` and ``ctrl+p`` open it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.app import SystemCommand
from textual.binding import Binding

from qjob_tui.ui.actions import Action


def action_commands(
    actions: Iterable[Action],
    run: Callable[[Action], None],
    keys_of: Callable[[Action], str],
    key_display: Callable[[Binding], str],
) -> list[SystemCommand]:
    """One command per action that has a palette title, with its keys in the help line."""
    commands = []
    for action in actions:
        if not action.palette:
            continue
        keys = shown_keys(action, keys_of(action), key_display)
        commands.append(
            SystemCommand(
                action.palette,
                f"{action.help or action.description} · key {keys}",
                lambda action=action: run(action),  # type: ignore[misc]
            )
        )
    return commands


def shown_keys(action: Action, keys: str, key_display: Callable[[Binding], str]) -> str:
    """The keys of an action as the footer shows them (``?``, ``^p``), space-separated."""
    return " ".join(
        key_display(Binding(key.strip(), action.action, action.description))
        for key in keys.split(",")
        if key.strip()
    )
