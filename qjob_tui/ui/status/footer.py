"""``SteadyFooter``: Textual's Footer, recomposed only when the keys it shows change.

Textual's Footer unmounts and mounts all its keys at every bindings update (a focus change, a
``refresh_bindings``), each key styled twice as it mounts: three times over at start-up, before
the job list's first rows reach the terminal, for the same keys each time.

Textual's Footer also recomposes only while the app has focus, to keep showing the keys of the
widget that had it. Its first keys must not wait for focus: Textual's web driver (the relay's
browser view, textual-serve) starts the app blurred, before the screen mounts, until the browser
reports focus, and the key bar would stay blank till then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen

Shown = tuple[tuple[object, ...], ...]


class SteadyFooter(Footer):
    """A Footer that keeps its keys while the bindings it shows stay the same."""

    _composed: Shown | None = None

    def _shown(self, screen: Screen) -> Shown:
        """What ``compose`` would show: every shown binding with its state, in order."""
        app = self.app
        keys = tuple(
            (
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.group,
                binding.show,
                enabled,
                tooltip,
                key == app.COMMAND_PALETTE_BINDING,
            )
            for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
            if binding.show or key == app.COMMAND_PALETTE_BINDING
        )
        return (*keys, (self.compact, self.show_command_palette))

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._composed = self._shown(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        ours = self.is_attached and screen is self.screen
        if self._composed is None and not screen.app.app_focus:
            # No keys shown yet and the app is blurred: Footer would wait for focus.
            self._bindings_ready = True
            if ours:
                self.call_after_refresh(self.recompose)
            return
        if ours and self._composed is not None and self._shown(screen) == self._composed:
            return  # the same keys: nothing to recompose
        super().bindings_changed(screen)
