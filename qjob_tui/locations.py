"""Where qjob-tui keeps its files, following the XDG base directory specification."""

from __future__ import annotations

import os
from pathlib import Path

APP = "qjob-tui"


def _base(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "")
    # The spec says relative paths are invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_dir() -> Path:
    return _base("XDG_CONFIG_HOME", ".config") / APP


def cache_dir() -> Path:
    return _base("XDG_CACHE_HOME", ".cache") / APP


def data_dir() -> Path:
    return _base("XDG_DATA_HOME", ".local/share") / APP


def log_dir() -> Path:
    """Where crash logs go: ``$XDG_STATE_HOME/qjob-tui/log`` (the spec's place for logs)."""
    return _base("XDG_STATE_HOME", ".local/state") / APP / "log"


def config_file() -> Path:
    return config_dir() / "config.toml"


def downloads_dir() -> Path:
    """Where saved files go: ``$XDG_DOWNLOAD_DIR``, else ``~/Downloads`` if it exists, else home.

    Never the current directory: started by ``make run``, that is the project's checkout.
    """
    value = os.environ.get("XDG_DOWNLOAD_DIR", "")
    if value:
        path = Path(os.path.expandvars(value)).expanduser()
        if path.is_absolute():
            return path
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.home()
