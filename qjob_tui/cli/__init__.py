"""The ``qjob-tui`` command: its entry point, subcommands and dashboard start-up."""

from qjob_tui.cli.main import main

__all__ = ["main"]
