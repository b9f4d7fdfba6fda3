"""The programs the local service runs for ``POST /jobs``: one module per ``program_id``."""
