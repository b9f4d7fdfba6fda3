"""The relay's dashboards in a browser: a page at ``/``, a dashboard process per tab.

Textual's web driver and textual-serve's client (xterm.js) carry each tab's terminal over a
websocket of the relay's own app; the dashboard watches the relay like an SSH viewer's does.
"""
