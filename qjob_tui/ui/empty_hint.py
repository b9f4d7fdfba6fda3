"""What the empty job list says: why it is empty, and commands that work as typed for the
sources shown (another terminal's ``qjob-tui submit`` goes to the default source unless told)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from qjob_tui.store.changes import SourceHealth, SourceInfo

NO_JOBS = "No jobs yet."
DEMO_HINT = "Watch a demo: qjob-tui demo"
# The circuit the repository ships, found from the package when it runs from a checkout.
SAMPLE_CIRCUIT = Path(__file__).resolve().parents[2] / "examples" / "bell.qasm"
API_PATH = "/api/v1"


def empty_text(
    sources: Sequence[SourceInfo],
    health: Mapping[str, SourceHealth],
    *,
    readonly: bool,
    cwd: Path | None = None,
) -> tuple[str, ...]:
    """The lines an empty list shows: "No jobs yet." and how to get some, once a source has
    answered; before that, whom it asks; when every source fails, that they cannot be reached
    (or answer, and refuse).

    The submit hint names the first local source that is not failing, by its address (a
    relay's source: where its jobs are sent instead); a read-only dashboard (``--readonly``,
    a remote viewer's) gets none.
    """
    failing = [s for s in sources if s.name in health and health[s.name].stale]
    if sources and len(failing) == len(sources):
        return tuple(_unreachable(s, health[s.name]) for s in failing)
    answered = [s for s in sources if s.name in health and health[s.name].last_success]
    if sources and not answered:  # no hint to act on a source that may never answer
        return tuple(f"Asking {_named_at(s)}…" for s in sources if s not in failing)
    if not any(s.local for s in sources):
        return (NO_JOBS,)
    target = next((s for s in sources if s.local and s not in failing), None)
    lines = [NO_JOBS]
    if target is not None and not readonly:
        lines.append(_send_hint(target, cwd or Path.cwd()))
    lines.append(DEMO_HINT)
    return tuple(lines)


def _send_hint(target: SourceInfo, cwd: Path) -> str:
    """How to send a job that will show here: a command for a service; for a relay's source,
    where to send it (a relay refuses jobs, and does not say its upstream's address)."""
    if target.relayed:
        return (
            f"Jobs sent to the service this relay watches as {target.name} show here "
            "(the relay takes none itself)."
        )
    return f"Send one: qjob-tui submit --source {address(target.url)} {circuit_argument(cwd)}"


def _unreachable(source: SourceInfo, health: SourceHealth) -> str:
    """Who cannot be reached (or is reached and refuses) and why, the address said once: a
    source given as a URL is named by it, and an error of the network names the address it
    tried."""
    why = (health.last_error or "").removeprefix(f"{source.name}: ")
    where = address(source.url)
    at = "" if where in f"{source.name} {why}" else f" at {where}"
    # A source that answers and refuses (a missing key, a server error) is no unreachable one.
    fails = "cannot be reached" if health.no_answer or not why else "cannot be read"
    return f"{source.name} {fails}{at}" + (f": {why}" if why else "")


def _named_at(source: SourceInfo) -> str:
    """The source's name and its address, the address said once (a source given as a URL is
    named by it)."""
    where = address(source.url)
    return source.name if where in source.name else f"{source.name} at {where}"


def address(url: str) -> str:
    """A service's address as ``--source`` takes it: scheme, host, port and path, without the
    API's path, and without what could be a secret (a user, a password, a query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.removesuffix(API_PATH)}"


def circuit_argument(cwd: Path) -> str:
    """examples/bell.qasm as typed from ``cwd``: relative inside the checkout, else its full
    path; FILE.qasm (as ``submit --help`` names it) when the package has no checkout."""
    if not SAMPLE_CIRCUIT.is_file():
        return "FILE.qasm"
    try:
        return shlex.quote(str(SAMPLE_CIRCUIT.relative_to(cwd.resolve())))
    except ValueError:
        return shlex.quote(str(SAMPLE_CIRCUIT))
