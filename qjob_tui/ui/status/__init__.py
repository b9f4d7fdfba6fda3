"""The bottom lines: the status line (counts, health, usage) and the footer."""
