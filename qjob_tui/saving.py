"""Where the dashboard may write a file a user asked for: only under the downloads folder.

Export (``e``) and save bits (``w``) take a name typed in the dashboard. A dashboard started for
a remote viewer (an SSH session of the relay, a browser view) runs on someone else's host: it
writes nothing there, and its launcher says so with ``QJOB_TUI_REMOTE_VIEWER=1`` in the
dashboard's environment; the data is offered to the viewer instead. A local dashboard writes
under the downloads folder only, walks down to the file one folder at a time without following
a symbolic link (so a link planted inside the folder cannot lead out of it), and never replaces
an existing file unless the user said so.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from qjob_tui import locations
from qjob_tui.text import has_hidden, one_line

REMOTE_VIEWER_VARIABLE = "QJOB_TUI_REMOTE_VIEWER"
REMOTE_REASON = "this dashboard serves a remote viewer and writes no file on its host"
# Which folder is the downloads folder (locations.downloads_dir), as the README says it.
DOWNLOADS_RULE = "$XDG_DOWNLOAD_DIR, else ~/Downloads if it exists, else the home folder"
NAME_IT = "give a file name"  # after a folder typed where a file's name goes


def remote_viewer(env: Mapping[str, str] | None = None) -> bool:
    """True in a dashboard its launcher started for a remote viewer (relay's SSH, browser)."""
    env = os.environ if env is None else env
    return env.get(REMOTE_VIEWER_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


class SaveRefused(Exception):
    """A file is not written; the message says why, in words for the user."""


class FileExists(SaveRefused):
    """The file is there already: replacing it needs the user's say-so."""


@dataclass(frozen=True)
class SaveTarget:
    """A file under the downloads folder, as the folder and the names leading down from it."""

    root: Path
    parts: tuple[str, ...]

    @property
    def path(self) -> Path:
        return self.root.joinpath(*self.parts)

    @property
    def suffix(self) -> str:
        return Path(self.parts[-1]).suffix.lower()


def save_target(
    typed: str, downloads: Path | None = None, env: Mapping[str, str] | None = None
) -> SaveTarget:
    """The file a typed name means: a bare or relative name goes into the downloads folder, an
    absolute one must lie inside it. ``SaveRefused`` for anything else."""
    if remote_viewer(env):
        raise SaveRefused(f"Not saved: {REMOTE_REASON}")
    root = Path(os.path.abspath(downloads or locations.downloads_dir()))
    text = typed.strip()
    if not text:
        raise SaveRefused("Not saved: give a file name")
    if has_hidden(text):  # an escape, a tab or a bidi override would disguise the name
        raise SaveRefused(
            "Not saved: a file name cannot hold control or invisible characters "
            "(tabs, escapes, bidi marks)"
        )
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~someone" who has no home here
        raise SaveRefused(f"Not saved: {one_line(text, 60)} names no home folder here") from None
    if not path.is_absolute():
        path = root / path
    normal = Path(os.path.normpath(path))
    resolved_root = Path(os.path.realpath(root))
    for base in (root, resolved_root):
        with contextlib.suppress(ValueError):
            parts = normal.relative_to(base).parts
            if not parts:  # ".", "./", the folder's own path: inside it, but no file
                raise SaveRefused(f"Not saved: {root} is the downloads folder itself; {NAME_IT}")
            if ".." not in parts:
                if os.path.basename(text) in ("", ".", ".."):  # "sub/", "sub/.": a folder
                    raise SaveRefused(f"Not saved: {root.joinpath(*parts)} is a folder; {NAME_IT}")
                return SaveTarget(root, parts)
    raise SaveRefused(
        f"Not saved: {normal} is outside the downloads folder, {root} ({DOWNLOADS_RULE}); "
        "files are saved in it or in a folder under it"
    )


def of_kind(target: SaveTarget, suffixes: Sequence[str]) -> SaveTarget:
    """The target as a file of one of the kinds offered (``suffixes``, the first the default):
    a name without an ending gets the default's, one with another ending is refused, so that
    a file always holds what its name says."""
    name = target.parts[-1].rstrip(".") or target.parts[-1]  # "jobs." is "jobs"
    if name.lower() in suffixes:  # ".csv": a hidden file named like an ending, never meant
        raise SaveRefused(f"Not saved: {name} is an ending alone; give a file name before it")
    if name != name.rstrip() or not name.strip("."):  # "jobs .", "jobs.csv .", "...": mistypes
        raise SaveRefused(
            f"Not saved: {one_line(target.parts[-1], 60)!r} ends in a space or is dots alone; "
            "give a file name"
        )
    suffix = Path(name).suffix.lower()
    if suffix and not Path(name).stem.strip("."):  # "..csv": a hidden file of dots
        raise SaveRefused(f"Not saved: {name} has no name before its ending; {NAME_IT}")
    if suffix in suffixes or not suffix:
        return SaveTarget(target.root, (*target.parts[:-1], name + ("" if suffix else suffixes[0])))
    offered = " or ".join(filter(None, [", ".join(suffixes[:-1]), suffixes[-1]]))
    raise SaveRefused(
        f"Not saved: {suffix} files are not offered here; end the name in {offered} "
        f"(a name without an ending gets {suffixes[0]})"
    )


def _open_folder(parent: int, name: str, create: bool) -> int:
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=parent)
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise SaveRefused(f"Not saved: {name} is a link or not a folder") from None
        raise


def write_file(target: SaveTarget, data: bytes, *, replace: bool = False) -> None:
    """Write ``data`` to the target, never through a symbolic link; ``FileExists`` if it is
    there and ``replace`` is false. A replaced file is swapped whole (a new file renamed over
    it), so a link or hard link in its place is replaced, never written through."""
    os.makedirs(target.root, exist_ok=True)  # the folder itself is the user's setting
    folder = os.open(target.root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in target.parts[:-1]:
            inner = _open_folder(folder, name, create=True)
            os.close(folder)
            folder = inner
        name = target.parts[-1]
        if not replace:
            _write_new(folder, name, data, target)
            return
        import secrets  # here: the dashboard starts without it (and hashlib, which it loads)

        spare = f".{name}.{secrets.token_hex(4)}.part"
        _write_new(folder, spare, data, target)
        try:
            os.replace(spare, name, src_dir_fd=folder, dst_dir_fd=folder)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(spare, dir_fd=folder)
            raise
    finally:
        os.close(folder)


def _write_new(folder: int, name: str, data: bytes, target: SaveTarget) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(name, flags, 0o644, dir_fd=folder)
    except FileExistsError:
        raise FileExists(f"{target.path} exists") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileExists(f"{target.path} exists (a link)") from None
        raise
    with os.fdopen(fd, "wb") as out:
        out.write(data)
