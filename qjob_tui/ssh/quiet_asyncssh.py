"""asyncssh, imported without the lines of ``CryptographyDeprecationWarning`` it would print.

asyncssh still names the DSA key classes that cryptography deprecates, so its first import
prints ten warnings on a relay's terminal, none of which a user can act on (the relay never
offers DSA). Every module of ``ssh/`` imports asyncssh from here.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh

__all__ = ["asyncssh"]
