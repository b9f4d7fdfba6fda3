"""Export and save bits: ask for a name, write under the downloads folder, ask before replacing.

The rules are ``qjob_tui.saving``'s; this is the dialogue around them. A dashboard for a remote
viewer never reaches a prompt: the data is offered to the viewer instead (the clipboard by OSC 52
in a terminal; in the browser view, not yet: a note says so), with a note that says why no file
was written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from textual.app import App

from qjob_tui import locations
from qjob_tui.saving import (
    REMOTE_REASON,
    FileExists,
    SaveRefused,
    SaveTarget,
    of_kind,
    remote_viewer,
    save_target,
    write_file,
)

# The kinds of file one prompt writes: a name's ending (".csv") and what makes the file's bytes;
# the first is the kind a name without an ending gets.
Formats = Mapping[str, Callable[[], bytes]]

# OSC 52 carries the text base64-encoded in one escape sequence; terminals and multiplexers
# drop (or choke on) much larger ones, so a bigger export asks for a narrower list instead.
MAX_CLIPBOARD_CHARACTERS = 256 * 1024


@dataclass(frozen=True)
class SavePrompt:
    """What the prompt says: a short title, and which kinds of file it writes."""

    title: str
    kinds: str

    def explanation(self, default_suffix: str) -> str:
        """The kinds, then the folder, in full: the dialog wraps it, never cuts it."""
        return (
            f"{self.kinds} (a name without an ending gets {default_suffix}). The file goes in "
            f"the downloads folder, {locations.downloads_dir()} (a bare name too)."
        )


def save_or_offer(
    app: App[object],
    *,
    prompt: SavePrompt,
    default: str,
    formats: Formats,
    offer: Callable[[], tuple[str, str]],
    done: Callable[[SaveTarget], str],
) -> None:
    """Save to a file the user names, or, for a remote viewer, offer the data.

    ``formats`` makes the file's bytes by the name's ending; ``offer()`` the text and file name
    a remote viewer gets; ``done(target)`` the note once written.
    """
    if remote_viewer() and app.is_web:
        # The relay's browser page has no download route yet, and a browser's terminal takes
        # no OSC 52 copy: say so rather than offer (or even build) what never arrives.
        app.notify(
            f"Files are not offered in the browser view ({REMOTE_REASON}); "
            "use qjob-tui ls --json, or an SSH or local dashboard",
            severity="warning",
            timeout=10,
        )
        return
    if remote_viewer():
        text, name = offer()
        if len(text) > MAX_CLIPBOARD_CHARACTERS:
            app.notify(
                f"{name} is {len(text):,} characters, too many for a terminal's clipboard; "
                f"filter the list first ({REMOTE_REASON})",
                severity="warning",
                timeout=10,
            )
        else:
            app.copy_to_clipboard(text)
            app.notify(
                f"Copied {len(text):,} characters ({name}) to your clipboard: {REMOTE_REASON}",
                timeout=8,
            )
        return
    _ask(app, prompt, default, formats, done, replacing=None)


def _target(typed: str, formats: Formats) -> SaveTarget:
    """The file a typed name means, of a kind offered (``SaveRefused`` says why not)."""
    return of_kind(save_target(typed), tuple(formats))


def _refusal(typed: str, formats: Formats) -> str | None:
    """Why a typed name is no file the dashboard may write, or None: the prompt stays open
    with the reason, and the name, to be corrected."""
    try:
        _target(typed, formats)
    except SaveRefused as exc:
        return str(exc)
    return None


def _ask(
    app: App[object],
    prompt: SavePrompt,
    default: str,
    formats: Formats,
    done: Callable[[SaveTarget], str],
    replacing: SaveTarget | None,
    problem: str = "",
) -> None:
    from qjob_tui.ui.dialogs.text_prompt import TextPrompt

    def chosen(typed: str | None) -> None:
        if not typed:
            return
        try:
            target = _target(typed, formats)  # (the prompt checked it; the world may change)
        except SaveRefused as exc:
            _ask(app, prompt, typed, formats, done, replacing, str(exc))
            return
        replace = replacing is not None and target == replacing
        app.run_worker(
            lambda: _write(app, target, replace, prompt, formats, done),
            thread=True,
            group="export",
            exit_on_error=False,
        )

    title, explanation = prompt.title, prompt.explanation(next(iter(formats)))
    if replacing is not None:
        title = "The file exists: replace it?"
        explanation = f"{replacing.path} exists: enter replaces it, or give another name."
    screen = TextPrompt(
        title,
        default,
        explanation=explanation,
        check=lambda typed: _refusal(typed, formats),
        problem=problem,
    )
    app.push_screen(screen, chosen)


def _write(
    app: App[object],
    target: SaveTarget,
    replace: bool,
    prompt: SavePrompt,
    formats: Formats,
    done: Callable[[SaveTarget], str],
) -> None:
    """In a worker thread: write, or come back to ask before replacing, or to ask again with
    the reason it could not be written (the name kept, to be corrected)."""
    typed = str(target.path)
    try:
        write_file(target, formats[target.suffix](), replace=replace)
    except FileExists:
        app.call_from_thread(_ask, app, prompt, typed, formats, done, target)
        return
    except SaveRefused as exc:
        app.call_from_thread(_ask, app, prompt, typed, formats, done, None, str(exc))
        return
    except OSError as exc:
        reason = f"Not saved: {target.path}: {exc.strerror or type(exc).__name__}"
        app.call_from_thread(_ask, app, prompt, typed, formats, done, None, reason)
        return
    app.call_from_thread(app.notify, done(target))
