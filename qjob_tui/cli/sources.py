"""Which sources to watch: IBM accounts found as qiskit-ibm-runtime finds them, and services.

``--source`` takes an account name, ``ibm`` (the default account), ``local`` (the local service),
or a URL of any server that speaks the API. Without it, the default IBM account is used when there
is one, else the local service.

Every source is checked before it is used (``checked``): a URL that does not parse, a port out
of range or a token no header can carry is refused at once, with one line, as a usage error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from qjob_tui import locations
from qjob_tui.api.accounts import Account, AccountError, find_account, load_saved_accounts
from qjob_tui.api.address import credential_problem, url_problem
from qjob_tui.api.source import LOCAL, Source
from qjob_tui.cli.variables import APIKEY_VARIABLE, TOKEN_VARIABLE

DEFAULT_LOCAL_URL = "http://127.0.0.1:8765"


class SourceError(ValueError):
    """A ``--source`` that names nothing usable; the message says what exists."""


# host:port, maybe with a path: a URL typed without "http://"
_HOST_PORT = re.compile(r"[\w.-]+:\d{1,5}(/\S*)?")


def checked(source: Source, origin: str | None = None) -> Source:
    """The source, if a request to it can be made at all; else SourceError saying why."""
    where = origin or f"source {source.name!r}"
    problem = url_problem(source.url, where)
    if problem is None and source.iam is not None:
        problem = url_problem(source.iam, f"{where}: IAM_URL")
    if problem is None and source.token is not None:
        problem = credential_problem(source.token, f"the token of {where} (${TOKEN_VARIABLE})")
    if problem is None and source.apikey is not None:
        problem = credential_problem(source.apikey, f"the API key of {where} (${APIKEY_VARIABLE})")
    account = source.account
    if problem is None and account is not None and account.token:
        problem = credential_problem(account.token, f"the API key of {where}")
    if problem is None and account is not None and account.instance:  # the Service-CRN header
        problem = credential_problem(account.instance, f"the instance of {where}")
    if problem is not None:
        raise SourceError(problem)
    return source


def account_source(account: Account, env: Mapping[str, str]) -> Source:
    """An IBM account's source, checked: its saved or ``QISKIT_IBM_URL`` url too."""
    where = f"account {account.name!r}"
    if account.url:
        problem = url_problem(account.url, f"{where}: url")
        if problem is not None:
            raise SourceError(problem)
    try:
        source = Source.from_account(account, env)
    except (AccountError, ValueError) as exc:
        raise SourceError(f"{where}: {exc}") from None
    return checked(source, where)


def _running_local_url() -> str | None:
    """Where the service of the default data folder says it answers, while it runs."""
    from qjob_tui.service.datalock import running_service

    note = running_service(locations.data_dir())
    return str(note["url"]) if note else None


def service_source(url: str, env: Mapping[str, str], name: str = LOCAL) -> Source:
    """A qjob-tui service (or any server of the API) at ``url``, with the secrets ``env`` holds."""
    return Source.local(
        url,
        env.get(TOKEN_VARIABLE) or None,
        name=name,
        apikey=env.get(APIKEY_VARIABLE) or None,
    )


def local_source(env: Mapping[str, str]) -> Source:
    """The local service: at ``$QJOB_TUI_URL``, else the one serving the data folder (the
    dashboard's background service included), else the default port."""
    variable = env.get("QJOB_TUI_URL")
    if variable:
        problem = url_problem(variable, "$QJOB_TUI_URL")
        if problem is not None:
            raise SourceError(problem)
    url = variable or _running_local_url() or DEFAULT_LOCAL_URL
    source = service_source(url, env)
    return checked(source, "$QJOB_TUI_URL" if variable else "the local service")


def resolve_source(
    spec: str | None,
    env: Mapping[str, str] | None = None,
    accounts_path: Path | None = None,
) -> Source:
    """The one source a command works on."""
    env = os.environ if env is None else env
    if spec == LOCAL:
        return local_source(env)
    if spec is not None and "://" in spec:
        problem = url_problem(spec, "--source")
        if problem is not None:
            raise SourceError(problem)
        source = service_source(spec, env, name=spec)
        return checked(source, f"--source {spec!r}")
    try:
        if spec in (None, "ibm"):
            account = find_account(env=env, path=accounts_path)
            if account is not None:
                return account_source(account, env)
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
        return account_source(accounts[spec], env)
    known = ", ".join(["local", "ibm", *sorted(accounts)])
    if spec is not None and _HOST_PORT.fullmatch(spec):  # an address without its scheme
        raise SourceError(
            f"unknown source {spec!r}: a URL starts with a scheme, as in http://{spec}"
        )
    raise SourceError(f"unknown source {spec!r}; known: {known}, or a URL")
