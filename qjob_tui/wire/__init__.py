"""The IBM runtime wire format: no I/O, no other part of the project but ``model`` and ``text``."""
