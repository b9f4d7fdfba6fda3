"""textual-serve's browser client, served from the installed package.

Its bundle (``textual.js``: xterm.js and the websocket protocol) starts xterm without its
screen-reader mode, so the page would be a canvas with no text. The one option is switched on as
the bundle is served: xterm then keeps the screen's rows as text in an accessibility tree and
announces changes in a live region. The bundle is that of the pinned textual-serve (1.1.3); if
a new one no longer has the spot, it is served as it is and the relay's log says so.
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from pathlib import Path

log = logging.getLogger("qjob_tui.relay.web")

TERMINAL_OPTIONS = b"scrollback:0,fontFamily:"
WITH_SCREEN_READER = b"scrollback:0,screenReaderMode:!0,fontFamily:"


def textual_serve_static() -> Path:
    return Path(str(resources.files("textual_serve") / "static"))


@functools.cache
def client_script() -> bytes:
    bundle = (textual_serve_static() / "js" / "textual.js").read_bytes()
    if bundle.count(TERMINAL_OPTIONS) != 1:
        log.warning("textual-serve's client has changed: screen readers get no text")
        return bundle
    return bundle.replace(TERMINAL_OPTIONS, WITH_SCREEN_READER)
