"""Options given before the subcommand that belong after it (``qjob-tui --json ls``).

Only the dashboard's options (``--source``, ``--readonly``, ``--refresh``, ``--relay``,
``--no-mouse``, ``--theme``) may stand on either side of a subcommand; argparse would read any
other option before it as unknown and the word after it as the subcommand, quoting that word
(which may be a secret typed after a mistyped option). This says instead where the option goes,
naming the option only, never a value.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _matches(parser: argparse.ArgumentParser, given: str) -> list[str]:
    """The option strings ``given`` names, as argparse reads it: in full, or a long option by
    a prefix (several when the prefix is ambiguous)."""
    known = parser._option_string_actions
    if given in known:
        return [given]
    if not given.startswith("--"):
        return []
    found: dict[argparse.Action, str] = {}
    for flag, action in known.items():
        if flag.startswith(given):
            found.setdefault(action, flag)
    return list(found.values())


def misplaced(argv: Sequence[str], parser: argparse.ArgumentParser) -> str | None:
    """Why an option before the subcommand is refused, or None to let argparse read ``argv``."""
    commands = _subcommands(parser)
    index = 0
    while index < len(argv):
        word = argv[index]
        if word in ("-", "--") or not word.startswith("-"):
            return None  # the subcommand, or a word argparse explains itself
        flag, equals, _ = word.partition("=")
        root = _matches(parser, flag)
        if len(root) > 1:
            return None  # argparse names the options an ambiguous prefix could mean
        if root:
            takes_value = parser._option_string_actions[root[0]].nargs != 0
            index += 2 if takes_value and not equals else 1
            continue
        command = next((w for w in argv[index + 1 :] if w in commands), None)
        if command is not None:
            own = _matches(commands[command], flag)
            if len(own) == 1:
                return f"{own[0]} is an option of 'qjob-tui {command}': put it after '{command}'"
            return f"unrecognized arguments: {flag}"
        having = [name for name, sub in commands.items() if len(_matches(sub, flag)) == 1]
        if having:
            listed = ", ".join(f"'qjob-tui {name}'" for name in having)
            return f"{flag} is not an option of the dashboard; it goes after {listed}"
        return f"unrecognized arguments: {flag}"
    return None
