"""Where ``serve`` takes its secrets from: an environment variable or a private file, never its
own command line, which every user of the host reads with ``ps``.

``--token SECRET`` and ``--iam-apikey SECRET`` still parse, only to be refused with the way in
that works: without them argparse would read ``--token X`` as an abbreviation of
``--token-env`` or ``--token-file`` and quote the secret back in its complaint.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path
from typing import Any

# A token or API key is a line; anything this long is the wrong file.
MAX_SECRET_FILE = 64 * 1024


class SecretError(ValueError):
    """A secret cannot be read as asked; the message names the variable or file, never the
    secret."""


def refusing(variable: str, file_flag: str) -> type[argparse.Action]:
    """An option that takes a secret on the command line and refuses it, pointing to
    ``$variable`` and ``file_flag``."""

    class Refused(argparse.Action):
        def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
            kwargs["nargs"] = "?"  # with or without a value, the same message
            super().__init__(option_strings, dest, **kwargs)

        def __call__(
            self,
            parser: argparse.ArgumentParser,
            namespace: argparse.Namespace,
            values: object,
            option_string: str | None = None,
        ) -> None:
            parser.error(
                f"{option_string} is refused: a secret on the command line is shown to every "
                f"user of this host by ps. Put it in ${variable}, or in a file only you can "
                f"read (chmod 600) given with {file_flag} PATH"
            )

    return Refused


def read_secret_file(path: Path, flag: str) -> str:
    """The secret in ``path``: one line, in a regular file that only its owner can read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise SecretError(f"{flag} {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)  # of the file opened, not of a name that may change meanwhile
        if not stat.S_ISREG(info.st_mode):
            raise SecretError(f"{flag} {path}: not a regular file")
        if info.st_uid not in (os.getuid(), 0):
            raise SecretError(f"{flag} {path}: the file belongs to another user")
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise SecretError(
                f"{flag} {path}: other users can read or change it (mode {mode:o}); "
                f"run 'chmod 600 {path}'"
            )
        data = os.read(fd, MAX_SECRET_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_FILE:
        raise SecretError(f"{flag} {path}: larger than a secret ({MAX_SECRET_FILE} bytes)")
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(f"{flag} {path}: not UTF-8 text") from None
    if not text:
        raise SecretError(f"{flag} {path}: the file is empty")
    if "\n" in text or "\r" in text:
        raise SecretError(f"{flag} {path}: the secret must be one line")
    return text


def secret(
    path: Path | None, variable: str | None, default: str, flags: tuple[str, str]
) -> str | None:
    """A secret from a file, else from the named (or default) environment variable.

    ``flags`` are the file's and the variable's options (``--token-file``, ``--token-env``).
    A variable named with the option must be set: a typo would otherwise start a service
    without the protection that was asked for.
    """
    file_flag, variable_flag = flags
    if path is not None and variable is not None:
        raise SecretError(f"{file_flag} and {variable_flag} were both given: choose one")
    if path is not None:
        return sendable(read_secret_file(path.expanduser(), file_flag), file_flag)
    if variable is not None:
        value = os.environ.get(variable)
        if not value:
            raise SecretError(f"{variable_flag} {variable}: that environment variable is not set")
        return sendable(value, f"${variable}")
    value = os.environ.get(default) or None
    return None if value is None else sendable(value, f"${default}")


def sendable(secret: str, where: str) -> str:
    """The secret, if a client can send it in an ``Authorization`` header (printable ASCII,
    no blank): a service started with one that cannot be sent could never be reached."""
    if not (secret.isascii() and secret.isprintable()) or any(c.isspace() for c in secret):
        raise SecretError(
            f"{where}: the secret holds a blank, a line break, a control or a non-ASCII "
            "character, which no client can send in an Authorization header; use printable "
            "ASCII only"
        )
    return secret
