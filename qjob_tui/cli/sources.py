"""Which sources to watch: IBM accounts found as qiskit-ibm-runtime finds them, and services.

``--source`` takes an account name, ``ibm`` (the default account), ``local`` (the local service),
or a URL of any server that speaks the API. Without it, the default IBM account is used when there
is one, else the local service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from qjob_tui.api.accounts import AccountError, find_account, load_saved_accounts
from qjob_tui.api.source import LOCAL, Source

DEFAULT_LOCAL_URL = "http://127.0.0.1:8765"
# The service's secrets, read from the environment so that ``ps`` never shows them: the fixed
# token of ``serve --token``, and the API key of ``serve --iam-apikey`` (exchanged through IAM).
TOKEN_VARIABLE = "QJOB_TUI_SERVICE_TOKEN"
APIKEY_VARIABLE = "QJOB_TUI_IAM_APIKEY"


class SourceError(ValueError):
    """A ``--source`` that names nothing usable; the message says what exists."""


def service_source(url: str, env: Mapping[str, str], name: str = LOCAL) -> Source:
    """A qjob-tui service (or any server of the API) at ``url``, with the secrets ``env`` holds."""
    return Source.local(
        url,
        env.get(TOKEN_VARIABLE) or None,
        name=name,
        apikey=env.get(APIKEY_VARIABLE) or None,
    )


def local_source(env: Mapping[str, str]) -> Source:
    """The local service, at ``$QJOB_TUI_URL`` or the default port."""
    return service_source(env.get("QJOB_TUI_URL") or DEFAULT_LOCAL_URL, env)


def resolve_source(
    spec: str | None,
    env: Mapping[str, str] | None = None,
    accounts_path: Path | None = None,
) -> Source:
    """The one source a command works on."""
    env = os.environ if env is None else env
    if spec == LOCAL:
        return local_source(env)
    if spec is not None and spec.startswith(("http://", "https://")):
        return service_source(spec, env, name=spec)
    try:
        if spec in (None, "ibm"):
            account = find_account(env=env, path=accounts_path)
            if account is not None:
                return Source.from_account(account, env)
            if spec is None:
                return local_source(env)
            raise SourceError(
                "no IBM Quantum account found: save one with qiskit-ibm-runtime's "
                "QiskitRuntimeService.save_account(), or set QISKIT_IBM_TOKEN and "
                "QISKIT_IBM_INSTANCE"
            )
        accounts = load_saved_accounts(accounts_path)
    except AccountError as exc:
        raise SourceError(str(exc)) from None
    if spec in accounts:
        return Source.from_account(accounts[spec], env)
    known = ", ".join(["local", "ibm", *sorted(accounts)])
    raise SourceError(f"unknown source {spec!r}; known: {known}, or a URL")
