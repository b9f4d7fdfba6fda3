"""Who answers behind each of a relay's sources, as a qjob-tui service says who it is.

A dashboard keys its cache and state by who its server is (``GET /version``'s ``instance_id``,
and the ``X-Qjob-Tui-Instance`` header of every answer). Through a relay, that is the upstream
server the relay reads now: another server behind the same source (a fresh service on the same
port) is another instance, so a viewer never shows one server's cached jobs as another's. The id
is derived from the source's name and the upstream's identity; until the relay knows who
answers upstream, ``/version`` says so (503) and no answer carries the header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.types import Scope

from qjob_tui.store import JobStore


def relay_instance(store: JobStore, source: str) -> str | None:
    """The instance id a relay's source answers under; None while upstream is unknown."""
    upstream = store.identity(source)
    if upstream is None:
        return None
    return hashlib.sha256(f"relay source {source}\n{upstream}".encode()).hexdigest()[:32]


def source_instance(store: JobStore) -> Callable[[Scope], str | None]:
    """``relay_instance`` of the source a request's path names (for ``ResponseHeader``)."""

    def of(scope: Scope) -> str | None:
        source = scope.get("path_params", {}).get("source")
        return relay_instance(store, source) if isinstance(source, str) else None

    return of
