"""Settings from ``$XDG_CONFIG_HOME/qjob-tui/config.toml``, never fatal.

A broken file is reported with its line and column, and the app starts with defaults; an unknown
key or a value of the wrong type is reported and ignored, the rest of the file still applies.

```toml
refresh = 2.0            # seconds between polls while jobs are active
theme = "textual-dark"
mouse = true
bell = false             # ring the terminal bell when a watched job ends
notify = "watched"       # notify when these end: watched (marked, shown, submitted here), all, off
on_final = "notify-send \"$QJOB_ID $QJOB_STATUS\""  # when a watched job ends; job JSON on stdin
on_final_timeout = 30    # seconds before that command is stopped
readonly = false
local_url = "http://127.0.0.1:8765"   # use this service instead of starting one
columns = ["status", "id", "name", "backend", "created", "duration", "tags"]  # o changes it

[keymap]                 # binding id = keys, as Textual's keymaps
"job_list.cursor_down" = "j,down,ctrl+n"

[[sources]]              # extra services to watch, beside the IBM accounts
name = "lab"
url = "https://lab.example.org"
token_env = "LAB_TOKEN"  # the token is read from this environment variable
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from qjob_tui import locations


@dataclass(frozen=True)
class ExtraSource:
    """A service listed in the config file."""

    name: str
    url: str
    token_env: str | None = None


def _means(words: str) -> dict[str, str]:
    """A field's metadata: what a value of it is, as a problem names it."""
    return {"means": words}


SECONDS = _means("a number of seconds")
SWITCH = _means("true or false")


@dataclass(frozen=True)
class Settings:
    """Every setting config.toml takes: its type here is the type the file must give it."""

    refresh: float = field(default=2.0, metadata=SECONDS)
    theme: str | None = field(default=None, metadata=_means("a theme name"))
    mouse: bool = field(default=True, metadata=SWITCH)
    bell: bool = field(default=False, metadata=SWITCH)
    readonly: bool = field(default=False, metadata=SWITCH)
    local_url: str | None = field(default=None, metadata=_means("a URL"))
    keymap: dict[str, str] = field(default_factory=dict)
    sources: tuple[ExtraSource, ...] = ()
    columns: tuple[str, ...] | None = None  # the job list's columns; None: all that fit
    # which ended jobs get a notification: watched, all or off
    notify: str = field(default="watched", metadata=_means('"watched", "all" or "off"'))
    # a shell command run when a watched job ends
    on_final: str | None = field(default=None, metadata=_means("a command"))
    on_final_timeout: float = field(default=30.0, metadata=SECONDS)


def _scalars() -> dict[str, tuple[type | tuple[type, ...], str]]:
    """The settings of one plain value, from Settings itself: name -> (TOML types, words)."""
    hints = get_type_hints(Settings)
    scalars: dict[str, tuple[type | tuple[type, ...], str]] = {}
    for setting in fields(Settings):
        if "means" not in setting.metadata:
            continue  # a table or a list: read by its own function below
        kind = hints[setting.name]
        if kind is float:  # TOML's 2 is as good as 2.0
            scalars[setting.name] = ((int, float), setting.metadata["means"])
        else:
            plain = [t for t in get_args(kind) if t is not type(None)] or [kind]
            scalars[setting.name] = (plain[0], setting.metadata["means"])
    return scalars


_SCALARS = _scalars()


def load_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """The settings, and one message per problem found (empty when all is well)."""
    path = path or locations.config_file()
    problems: list[str] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings(), []
    except OSError as exc:
        return Settings(), [f"{path}: cannot read ({exc.strerror}); using defaults"]
    import tomllib  # here: without a config file, the dashboard starts without it

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Settings(), [f"{path}: not UTF-8 text; using defaults"]
    except tomllib.TOMLDecodeError as exc:
        return Settings(), [f"{path}: {exc}; using defaults"]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SCALARS:
            kind, words = _SCALARS[key]
            if isinstance(value, bool) and kind in ((int, float),):
                problems.append(f"{path}: {key} must be {words}; ignored")
            elif isinstance(value, kind):
                values[key] = value
            else:
                problems.append(f"{path}: {key} must be {words}; ignored")
        elif key == "keymap":
            values["keymap"] = _keymap(value, path, problems)
        elif key == "sources":
            values["sources"] = _sources(value, path, problems)
        elif key == "columns":
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                values["columns"] = tuple(value)
            else:
                problems.append(f'{path}: columns must be a list like ["status", "id"]; ignored')
        else:
            problems.append(f"{path}: unknown setting {key!r}; ignored")
    refresh = values.get("refresh")
    if refresh is not None and not 0.2 <= float(refresh) <= 3600:
        problems.append(f"{path}: refresh must be between 0.2 and 3600 seconds; ignored")
        values.pop("refresh")
    if "refresh" in values:
        values["refresh"] = float(values["refresh"])
    if values.get("notify", "watched") not in ("watched", "all", "off"):
        problems.append(f'{path}: notify must be "watched", "all" or "off"; ignored')
        values.pop("notify")
    hook_timeout = values.get("on_final_timeout")
    if hook_timeout is not None:
        if not 1 <= float(hook_timeout) <= 3600:
            problems.append(f"{path}: on_final_timeout must be 1 to 3600 seconds; ignored")
            values.pop("on_final_timeout")
        else:
            values["on_final_timeout"] = float(hook_timeout)
    if values.get("on_final") is not None and not values["on_final"].strip():
        values.pop("on_final")
    return Settings(**values), problems


MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})


def key_problem(key: str) -> str | None:
    """Why ``key`` (one key as Textual names them: "j", "ctrl+n", "question_mark", "f5")
    is not a key, or None if it is one."""
    from textual.keys import KEY_NAME_REPLACEMENTS, Keys, key_to_character

    if not key:
        return "an empty key"
    *modifiers, base = key.split("+")
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown or not base:
        return f"{key!r} is not a key (modifiers are {', '.join(sorted(MODIFIERS))})"
    if len(modifiers) != len(set(modifiers)):
        return f"{key!r} repeats a modifier"
    named = {k.value for k in Keys} | set(KEY_NAME_REPLACEMENTS.values())
    if len(base) == 1 or base in named or f"ctrl+{base}" in named:
        return None
    if key_to_character(base) is not None:
        return None
    return f"{key!r} is not a key"


def _keymap(value: object, path: Path, problems: list[str]) -> dict[str, str]:
    """The [keymap] table with every key checked: a bad key is named and left out."""
    if not isinstance(value, dict):
        problems.append(f"{path}: [keymap] must be a table; ignored")
        return {}
    keymap = {}
    for binding, keys in value.items():
        if not isinstance(keys, str) or not keys.strip():
            problems.append(f'{path}: keymap {binding!r} must be keys like "j,down"; ignored')
            continue
        good, bad = [], []
        for key in (part.strip() for part in keys.split(",")):
            problem = key_problem(key)
            if problem is None:
                good.append(key)
            elif problem not in bad:
                bad.append(problem)
        if good:
            keymap[binding] = ",".join(good)
        if bad:  # one line per entry, naming every bad key
            outcome = f"kept {','.join(good)}" if good else "ignored"
            problems.append(f"{path}: keymap {binding!r}: {', '.join(bad)}; {outcome}")
    return keymap


def _sources(value: object, path: Path, problems: list[str]) -> tuple[ExtraSource, ...]:
    if not isinstance(value, list):
        problems.append(f"{path}: sources must be [[sources]] tables; ignored")
        return ()
    found = []
    for index, entry in enumerate(value, 1):
        if not isinstance(entry, dict):
            problems.append(f"{path}: source {index} is not a table; ignored")
            continue
        name, url, token_env = entry.get("name"), entry.get("url"), entry.get("token_env")
        if not isinstance(name, str) or not name or not isinstance(url, str) or not url:
            problems.append(f"{path}: source {index} needs a name and a url; ignored")
            continue
        if token_env is not None and not isinstance(token_env, str):
            problems.append(f"{path}: source {name!r}: token_env must be a variable name")
            token_env = None
        found.append(ExtraSource(name=name, url=url, token_env=token_env))
    return tuple(found)


class SettingNotSaved(Exception):
    """The config file could not be changed; the message says why (the file is untouched)."""


def save_setting(key: str, value: object, path: Path | None = None) -> Path:
    """Set one top-level setting in config.toml, keeping every other line as the user wrote it.

    The line ``key = ...`` before the first table is replaced (or added there); the result is
    parsed again before it is written, and written atomically, so a file this cannot edit
    safely (a value over several lines, say) is left alone and reported.
    """
    import tomllib

    path = path or locations.config_file()
    if isinstance(value, tuple):
        value = list(value)
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        before = tomllib.loads(old)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingNotSaved(f"{path}: cannot read it ({exc}); {key} not saved") from None
    line = f"{key} = {_toml_value(value)}"
    lines = old.splitlines()
    top = next((i for i, text in enumerate(lines) if text.lstrip().startswith("[")), len(lines))
    found = [i for i in range(top) if lines[i].split("=", 1)[0].strip() == key]
    if found:
        lines[found[0]] = line
    else:
        while top > 0 and not lines[top - 1].strip():
            top -= 1  # before the blank lines that lead to the first table
        lines.insert(top, line)
    new = "\n".join(lines) + "\n"
    try:
        after = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        after = None
    expected = {**before, key: value}
    if after != expected:
        raise SettingNotSaved(f"{path}: {key} is written in a way this cannot edit; not saved")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(new, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        problem = f"{path}: cannot write it ({exc.strerror}); {key} not saved"
        raise SettingNotSaved(problem) from None
    return path


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to config.toml")
