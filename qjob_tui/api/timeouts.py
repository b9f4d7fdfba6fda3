"""How long a request waits: one copy for the HTTP side, the client and the command lines that
offer to change it, without importing httpx (the dashboard paints before it needs it)."""

from __future__ import annotations

CONNECT_TIMEOUT = 5.0
# Seconds one try of a request waits for an answer. A source silent for longer reads as not
# answering, while its request is still tried again.
READ_TIMEOUT = 30.0
