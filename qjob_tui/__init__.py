"""qjob-tui: a terminal dashboard for quantum computing jobs."""

__version__ = "0.1.0"
