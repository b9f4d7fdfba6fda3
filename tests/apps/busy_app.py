"""A Textual app that repaints all the time, for hang-up tests in a pseudo-terminal.

``python -m tests.apps.busy_app DRIVER WATCHDOG READY_FILE``: DRIVER is ``textual`` (Textual's
own ``LinuxDriver``) or ``safe`` (``HangupSafeDriver``); WATCHDOG ``on`` starts the
``TerminalWatchdog`` as the dashboard does. READY_FILE is written after the first paint.
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static


class BusyApp(App[None]):
    def __init__(self, ready: Path) -> None:
        super().__init__()
        self.ready = ready
        self.frames = 0

    def compose(self) -> ComposeResult:
        yield Static("frame 0", id="frame")

    def on_mount(self) -> None:
        from qjob_tui.ui.terminal.hangup import current_watchdog

        watchdog = current_watchdog()
        if watchdog is not None:
            import asyncio

            loop = asyncio.get_running_loop()
            watchdog.exit_app = lambda: loop.call_soon_threadsafe(self.call_next, self.exit_later)
        else:
            import asyncio
            import signal

            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit_later)
        self.set_interval(0.002, self.next_frame)

    def exit_later(self) -> None:
        """Keep painting for a second after the hang-up, as a busy dashboard does."""
        self.set_timer(1.0, self.exit)

    def next_frame(self) -> None:
        self.frames += 1
        self.query_one("#frame", Static).update(f"frame {self.frames} " + "#" * (self.frames % 97))
        if self.frames == 20:
            self.ready.write_text("painted")


def main() -> None:
    driver, watchdog, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    from qjob_tui.ui.terminal.hangup import HangupSafeDriver, TerminalWatchdog

    if watchdog == "on":
        rites = ready.with_name(ready.name + ".rites")
        TerminalWatchdog().start().last_rites.append(lambda: rites.write_text("ran"))
    app = BusyApp(ready)
    if driver == "safe":
        app.driver_class = HangupSafeDriver
    app.run()


if __name__ == "__main__":
    main()
