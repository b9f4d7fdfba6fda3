"""Start the dashboard: find the sources, start the embedded service if needed, run the app.

Sources, in order: ``--source`` if given; else every IBM Quantum account found as
qiskit-ibm-runtime finds them, plus the services of the config file; and when that finds nothing,
the local service: the one answering at ``local_url`` (or ``$QJOB_TUI_URL``), or the XDG data
folder's background service, shared by every dashboard and started if none runs
(``cli/embedded.py``). ``qjob-tui demo`` always starts a fresh
service with the demo workload.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from qjob_tui import locations
from qjob_tui.api.accounts import AccountError, all_accounts
from qjob_tui.api.address import credential_problem, url_problem
from qjob_tui.api.client import JobClient
from qjob_tui.api.errors import ApiError
from qjob_tui.api.probe import answers
from qjob_tui.api.source import LOCAL, Source
from qjob_tui.cli.crash import DashboardCrash
from qjob_tui.cli.embedded import EmbeddedError, EmbeddedService, shared_service
from qjob_tui.cli.sources import (
    SourceError,
    account_source,
    checked,
    resolve_source,
    service_source,
)
from qjob_tui.config import Settings, load_settings
from qjob_tui.saving import remote_viewer
from qjob_tui.service.datalock import DataInUse, starting
from qjob_tui.store import JobStore, StoreConfig

if TYPE_CHECKING:
    from qjob_tui.ui.terminal.hangup import TerminalWatchdog


def configured_sources(
    settings: Settings, notices: list[str], *, strict: bool = False
) -> list[Source]:
    """IBM accounts and the config file's services (no local service yet), each checked.

    An accounts file that cannot be read is a notice (the dashboard still opens on the other
    sources), or with ``strict`` a SourceError, as for the commands that act on one source.
    """
    sources: list[Source] = []
    try:
        sources += [account_source(a, os.environ) for a in all_accounts(os.environ)]
    except AccountError as exc:
        if strict:
            raise SourceError(str(exc)) from None
        notices.append(str(exc))
    for extra in settings.sources:
        token = os.environ.get(extra.token_env) if extra.token_env else None
        if extra.token_env and not token:
            notices.append(f"source {extra.name}: ${extra.token_env} is not set")
        problem = url_problem(extra.url, f"source {extra.name!r} of config.toml")
        if problem is not None:
            raise SourceError(problem)
        sources.append(checked(Source.local(extra.url, token, name=extra.name)))
    return sources


def theme_problem(theme: str | None, where: str) -> str | None:
    """One line naming the themes there are, if ``theme`` is none of them."""
    if not theme:
        return None
    from textual.theme import BUILTIN_THEMES

    if theme in BUILTIN_THEMES:
        return None
    known = ", ".join(sorted(BUILTIN_THEMES))
    return f"unknown theme {theme!r} ({where}); the themes are: {known}"


def _start_watchdog() -> TerminalWatchdog | None:
    """From the very start: a hang-up during start-up ends the dashboard too."""
    if os.name != "posix":
        return None
    from qjob_tui.ui.terminal.hangup import TerminalWatchdog

    return TerminalWatchdog().start()


def _embedded(service: EmbeddedService, watchdog: TerminalWatchdog | None) -> EmbeddedService:
    """Start the embedded service; if the watchdog must end the process, it stops it first."""
    if watchdog is not None:
        watchdog.last_rites.append(service.abandon)
    return service.start()


def _shared(watchdog: TerminalWatchdog | None) -> EmbeddedService:
    """The data folder's background service, shared with every dashboard (and found by the
    commands); this dashboard's lease keeps it up. One dashboard at a time looks and starts."""
    data = locations.data_dir()
    try:
        with starting(data):
            running, lease = shared_service(data)
            embedded = EmbeddedService(data, lease=lease)
            if running is not None:
                embedded.url = running
                return embedded
            print("qjob-tui: starting the local service…", file=sys.stderr)
            _embedded(embedded, watchdog)
    except DataInUse as exc:
        raise EmbeddedError(str(exc)) from None
    except OSError as exc:
        raise EmbeddedError(f"cannot use the data folder {data}: {exc.strerror or exc}") from None
    print(f"qjob-tui: service ready at {embedded.url}", file=sys.stderr)
    return embedded


def _relay_sources(url: str) -> list[Source]:
    """Every source of a relay (``--relay URL``); ApiError if the relay cannot say."""
    from qjob_tui.api.errors import ApiError
    from qjob_tui.api.relay import relay_sources

    token = os.environ.get("QJOB_TUI_RELAY_TOKEN") or None
    problem = url_problem(url, "--relay")
    if problem is None and token is not None:
        problem = credential_problem(token, "$QJOB_TUI_RELAY_TOKEN")
    if problem is not None:
        raise SourceError(problem)
    sources = relay_sources(url, token)
    if not sources:
        raise ApiError(f"the relay at {url} serves no source")
    return sources


def run_dashboard(
    *,
    source_specs: list[str] | None,
    demo: bool,
    relay: str | None = None,
    readonly: bool,
    refresh: float | None,
    mouse: bool,
    theme: str | None,
) -> int:
    settings, notices = load_settings()
    if refresh is not None:
        settings = replace(settings, refresh=refresh)
    if theme is not None:  # config.toml's theme is the app's to check: a notice, not an exit
        problem = theme_problem(theme, "--theme")
        if problem is not None:
            print(f"qjob-tui: {problem}", file=sys.stderr)
            return 2
        settings = replace(settings, theme=theme)
    embedded: EmbeddedService | None = None
    watchdog = _start_watchdog()
    try:
        if demo:
            print("qjob-tui: starting the local service with the demo workload…", file=sys.stderr)
            # Named before it starts: a Ctrl+C while it starts reaches the ``finally`` below.
            embedded = EmbeddedService(None, demo=True)
            _embedded(embedded, watchdog)
            print(
                f"qjob-tui: service ready at {embedded.url}; opening the dashboard…",
                file=sys.stderr,
            )
            sources = [Source.local(embedded.url, name=LOCAL)]
        elif relay:
            sources = _relay_sources(relay)
        elif source_specs:
            sources = [resolve_source(spec) for spec in source_specs]
        else:
            sources = configured_sources(settings, notices)
            if not sources:
                local_url = settings.local_url or os.environ.get("QJOB_TUI_URL")
                if local_url:
                    problem = url_problem(local_url, "local_url (or $QJOB_TUI_URL)")
                    if problem is not None:
                        raise SourceError(problem)
                if local_url and answers(Source.local(local_url).url):
                    sources = [checked(service_source(local_url, os.environ))]
                else:
                    embedded = _shared(watchdog)
                    sources = [service_source(embedded.url, os.environ)]
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise SourceError(f"two sources have the same name: {', '.join(names)}")
        store = JobStore(
            [JobClient(source) for source in sources],
            StoreConfig(
                interval=settings.refresh,
                calm_interval=max(settings.refresh * 5, 10),
                # The demo's service lives in a temporary folder: its history dies with it; a
                # dashboard for a remote viewer writes nothing on its host.
                use_cache=not demo and not remote_viewer(),
                # Refused where actions happen, not only hidden from the keys.
                readonly=readonly or settings.readonly,
            ),
        )
        store.prefetch()  # who the servers are and the newest cached jobs, while this imports
        from qjob_tui.ui.app import QJobApp

        app = QJobApp(store, settings=settings, readonly=readonly, notices=notices)
        crash = DashboardCrash()
        crash.guard(app)
        if watchdog is not None and not os.environ.get("TEXTUAL_DRIVER"):
            # A driver named by the environment (Textual's web driver, under the relay's
            # browser view or textual-serve) writes its own packets on stdout: it stays.
            from qjob_tui.ui.terminal.hangup import HangupSafeDriver

            app.driver_class = HangupSafeDriver
        # What start-up built lives as long as the app: out of the collector's way from now on
        # (``cli/main.py`` turned it off for the imports).
        gc.freeze()
        gc.enable()
        app.run(mouse=mouse and settings.mouse)
        crash.report()
        return app.return_code or 0
    except SourceError as exc:
        print(f"qjob-tui: {exc}", file=sys.stderr)
        return 2
    except (EmbeddedError, ApiError) as exc:  # a service down or refusing: not a usage error
        print(f"qjob-tui: {exc}", file=sys.stderr)
        return 1
    finally:
        if embedded is not None:
            embedded.stop()
        if watchdog is not None:
            watchdog.stop()
