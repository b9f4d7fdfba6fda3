"""The service's identity: an id made once with its data folder, published at ``/version``.

Clients key their caches and state by it, so that two services (two data folders, two ports, or
one port reused by a fresh demo) never have their jobs mixed up. The id lives in the data folder
(``instance-id``), so it stays the same across restarts and moves with the folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

FILE = "instance-id"
SERVICE = "qjob-tui"
_VALID = re.compile(r"^[0-9a-f]{32}$")


def instance_id(data_dir: Path) -> str:
    """The data folder's id, created (atomically, once) if it has none yet."""
    path = data_dir / FILE
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="ascii").strip()
        if _VALID.match(text):
            return text
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = uuid.uuid4().hex
    temporary = data_dir / f".{FILE}.{os.getpid()}"
    temporary.write_text(fresh + "\n", encoding="ascii")
    try:
        os.link(temporary, path)  # fails if another process made one first: theirs wins
    except FileExistsError:
        pass
    except OSError:
        os.replace(temporary, path)  # a file system without hard links
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    text = path.read_text(encoding="ascii").strip()
    return text if _VALID.match(text) else fresh
