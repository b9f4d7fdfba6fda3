"""The ``qjob-tui`` command: its entry point (``entry.py``), subcommands and dashboard start-up."""
