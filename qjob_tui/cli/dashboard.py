"""Start the dashboard: find the sources, start the embedded service if needed, run the app.

Sources, in order: ``--source`` if given; else every IBM Quantum account found as
qiskit-ibm-runtime finds them, plus the services of the config file; and when that finds nothing,
the local service: the one answering at ``local_url`` (or ``$QJOB_TUI_URL``), or one started in
the background with its data in the XDG data folder. ``qjob-tui demo`` always starts a fresh
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
from qjob_tui.api.client import JobClient
from qjob_tui.api.probe import answers
from qjob_tui.api.source import LOCAL, Source
from qjob_tui.cli.embedded import EmbeddedError, EmbeddedService
from qjob_tui.cli.sources import SourceError, resolve_source
from qjob_tui.config import Settings, load_settings
from qjob_tui.store import JobStore, StoreConfig

if TYPE_CHECKING:
    from qjob_tui.ui.terminal.hangup import TerminalWatchdog


def configured_sources(settings: Settings, notices: list[str]) -> list[Source]:
    """IBM accounts and the config file's services (no local service yet)."""
    sources: list[Source] = []
    try:
        sources += [Source.from_account(a, os.environ) for a in all_accounts(os.environ)]
    except AccountError as exc:
        notices.append(str(exc))
    for extra in settings.sources:
        token = os.environ.get(extra.token_env) if extra.token_env else None
        if extra.token_env and not token:
            notices.append(f"source {extra.name}: ${extra.token_env} is not set")
        sources.append(Source.local(extra.url, token, name=extra.name))
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


def _running_service() -> str | None:
    """The URL of a service already serving the default data folder, if one answers."""
    from qjob_tui.service.datalock import read_note

    note = read_note(locations.data_dir())
    url = note.get("url") if note else None
    return url if isinstance(url, str) and answers(url) else None


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


def _relay_sources(url: str) -> list[Source]:
    """Every source of a relay (``--relay URL``)."""
    from qjob_tui.api.errors import ApiError
    from qjob_tui.api.relay import relay_sources

    try:
        sources = relay_sources(url, os.environ.get("QJOB_TUI_RELAY_TOKEN") or None)
    except ApiError as exc:
        raise SourceError(str(exc)) from None
    if not sources:
        raise SourceError(f"the relay at {url} serves no source")
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
    if theme is not None:
        settings = replace(settings, theme=theme)
    problem = theme_problem(settings.theme, "--theme" if theme is not None else "config.toml")
    if problem is not None:
        print(f"qjob-tui: {problem}", file=sys.stderr)
        return 2
    embedded: EmbeddedService | None = None
    watchdog = _start_watchdog()
    try:
        if demo:
            print("qjob-tui: starting the local service with the demo workload…", file=sys.stderr)
            embedded = _embedded(EmbeddedService(None, demo=True), watchdog)
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
                if local_url and answers(Source.local(local_url).url):
                    sources = [Source.local(local_url, os.environ.get("QJOB_TUI_SERVICE_TOKEN"))]
                elif (running := _running_service()) is not None:
                    sources = [Source.local(running, name=LOCAL)]
                else:
                    print("qjob-tui: starting the local service…", file=sys.stderr)
                    embedded = _embedded(EmbeddedService(locations.data_dir()), watchdog)
                    print(f"qjob-tui: service ready at {embedded.url}", file=sys.stderr)
                    sources = [Source.local(embedded.url, name=LOCAL)]
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise SourceError(f"two sources have the same name: {', '.join(names)}")
        store = JobStore(
            [JobClient(source) for source in sources],
            StoreConfig(
                interval=settings.refresh,
                calm_interval=max(settings.refresh * 5, 10),
                # The demo's service lives in a temporary folder: its history dies with it.
                use_cache=not demo,
            ),
        )
        store.prefetch()  # who the servers are and the newest cached jobs, while this imports
        from qjob_tui.ui.app import QJobApp

        app = QJobApp(store, settings=settings, readonly=readonly, notices=notices)
        if watchdog is not None:
            from qjob_tui.ui.terminal.hangup import HangupSafeDriver

            app.driver_class = HangupSafeDriver
        # What start-up built lives as long as the app: out of the collector's way from now on
        # (``cli/main.py`` turned it off for the imports).
        gc.freeze()
        gc.enable()
        app.run(mouse=mouse and settings.mouse)
        return app.return_code or 0
    except (SourceError, EmbeddedError) as exc:
        print(f"qjob-tui: {exc}", file=sys.stderr)
        return 1
    finally:
        if embedded is not None:
            embedded.stop()
        if watchdog is not None:
            watchdog.stop()
