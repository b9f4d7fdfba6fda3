"""The environment of child processes that parse or simulate circuits: no secret in it.

A circuit is untrusted data, and a process that reads it should hold nothing worth stealing:
neither the service's bearer token nor an IAM API key nor anyone's cloud credentials. Names
that look like a secret are recognised by what they contain (``TOKEN``, ``KEY``, ``SECRET``...),
so that a secret under a name this project never heard of is dropped too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, MutableMapping

_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|KEY|PASS|CRED|AUTH|COOKIE|PRIVATE|SIGNATURE|SESSION|^QISKIT_IBM_|^IBM",
    re.IGNORECASE,
)
# What a short-lived parser child needs: where programs are, the locale, a temporary folder.
_PARSER_KEEPS = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SYSTEMROOT"})


def is_secret_name(name: str) -> bool:
    """True for environment variables that may hold a credential."""
    return bool(_SECRET_NAME.search(name))


def parser_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The few variables a parser child gets: an allow-list, and never a secret among them."""
    source = os.environ if env is None else env
    return {
        name: value
        for name, value in source.items()
        if (name in _PARSER_KEEPS or name.startswith("LC_")) and not is_secret_name(name)
    }


def drop_secrets(
    env: MutableMapping[str, str] | None = None, values: Iterable[str | None] = ()
) -> list[str]:
    """Remove secret-looking variables, and any holding one of ``values``; returns their names.

    The service calls it once it has read its own secrets (which may sit under any name, see
    ``--token-env``), so that the worker processes it spawns later inherit none of them.
    """
    target = os.environ if env is None else env
    known = {value for value in values if value}
    names = [name for name, value in target.items() if is_secret_name(name) or value in known]
    for name in names:
        del target[name]
    return sorted(names)
