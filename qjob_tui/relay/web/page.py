"""The two pages a browser gets: the dashboard's, and the one that asks for the token.

Everything they load comes from the relay itself: textual-serve's client and fonts under
``/static``, the page's own script and style under ``/web``; a policy header forbids the rest.
"""

from __future__ import annotations

from html import escape

from qjob_tui.store import JobStore

# The browser loads nothing from elsewhere, and no other site may frame the page.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": with it a browser sends "Origin: null" with the token's form.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

TITLE_LIMIT = 120


def health_word(store: JobStore, source: str) -> str:
    """A source's health in a word: ok, starting, failing (never answered), stale."""
    health = store.pollers[source].health
    if health.ok:
        return "ok"
    if health.last_error is None:
        return "starting"
    return "failing" if health.last_success is None else "stale"


def title(store: JobStore) -> str:
    """The page's title: the relay and the health of each of its sources."""
    parts = [f"{name}: {health_word(store, name)}" for name in store.pollers]
    text = "qjob-tui relay · " + ", ".join(parts)
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def dashboard_page(store: JobStore) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title(store))}</title>
<link rel="stylesheet" href="/static/css/xterm.css">
<link rel="stylesheet" href="/web/page.css">
<script src="/web/page.js"></script>
<script src="/static/js/textual.js"></script>
</head>
<body>
<main>
<h1 class="visually-hidden">qjob-tui: the relay's jobs</h1>
<p class="visually-hidden">A terminal dashboard. Its screen is offered to screen readers as
text below; the keys are those of qjob-tui (question mark lists them).</p>
<div id="terminal" class="textual-terminal" data-session-websocket-url="" data-font-size="15">
</div>
<div class="ended" role="status">The dashboard ended. <a href="/">Open it again</a></div>
</main>
</body>
</html>
"""


def login_page(problem: str | None = None) -> str:
    said = f'<p class="problem" role="alert">{escape(problem)}</p>' if problem else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qjob-tui relay: token needed</title>
<link rel="stylesheet" href="/web/page.css">
</head>
<body class="login">
<main>
<h1>qjob-tui relay</h1>
<p>This relay asks for a token. Ask its operator for a viewer's token (to watch) or an
operator's token (to act too). This browser keeps it in a cookie, so you give it once.</p>
{said}
<form method="post" action="/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required
 autofocus>
<button type="submit">Open the dashboard</button>
</form>
</main>
</body>
</html>
"""
