"""IBM Quantum Platform accounts, found the way qiskit-ibm-runtime (RT) 0.51.0 finds them.

An IBM Quantum user already has an account saved by RT in ``~/.qiskit/qiskit-ibm.json`` or set in
``QISKIT_IBM_*`` environment variables, so the dashboard reads those instead of asking for setup.
This module mirrors RT's ``accounts/management.py`` (lookup order), ``api/utils.py`` (API URL) and
``api/auth.py`` (IAM URL) without importing RT. It does no I/O beyond reading the accounts file
and the environment mapping it is given: no network look-ups, and unlike RT it never creates the
file. API keys never appear in a ``repr``, a ``str`` or an exception message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlparse

Channel = Literal["ibm_quantum_platform", "ibm_cloud"]
Region = Literal["us-east", "eu-de"]

CHANNELS: tuple[Channel, ...] = ("ibm_quantum_platform", "ibm_cloud")
REGIONS: tuple[Region, ...] = ("us-east", "eu-de")
# RT `_DEFAULT_CHANNEL_TYPE`, `IBM_QUANTUM_PLATFORM_API_URL` and the default account names.
DEFAULT_CHANNEL: Channel = "ibm_quantum_platform"
DEFAULT_URL = "https://cloud.ibm.com"
DEFAULT_ACCOUNT_NAMES: dict[Channel, str] = {
    "ibm_quantum_platform": "default-ibm-quantum-platform",
    "ibm_cloud": "default-ibm-cloud",
}
# IBM Quantum Platform Classic, retired in RT 0.41.0; RT's `list()` skips these entries.
LEGACY_CHANNEL = "ibm_quantum"
# The name given to the account built from environment variables (RT gives it none). The
# parentheses keep it apart from names that RT's `save_account` users normally pick.
ENV_ACCOUNT_NAME = "(environment)"
# RT `api/auth.py`: CLOUD_IAM_URL, STAGING_CLOUD_IAM_URL.
CLOUD_IAM_HOST = "iam.cloud.ibm.com"
STAGING_CLOUD_IAM_HOST = "iam.test.cloud.ibm.com"

# RT `api/utils.py::_location_from_crn` and `cname_from_crn` use this exact pattern with re.search.
_CRN_PATTERN = re.compile(r"(.*?):(.*?):(.*?):(.*?):(.*?):(.*?):.*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_BOOL_FIELDS: tuple[tuple[str, bool], ...] = (
    ("private_endpoint", False),
    ("verify", True),
    ("is_default_account", False),
)


class AccountError(ValueError):
    """An account that cannot be read or used; the message is one line and holds no secret."""


@dataclass(frozen=True)
class Account:
    """One IBM Quantum Platform account: where its API lives and the key that opens it.

    ``url`` and ``instance`` are kept raw, as saved (``None`` when absent); ``api_base_url`` and
    ``iam_url`` derive the endpoints. ``region`` is only an instance-selection preference in RT:
    it never changes a URL. ``iam_url`` is the ``IAM_URL`` override in force when the account was
    found, if any.
    """

    name: str
    channel: Channel
    token: str = field(repr=False)
    instance: str | None = None
    url: str | None = None
    region: Region | None = None
    private_endpoint: bool = False
    verify: bool = True
    iam_url: str | None = None
    is_default_account: bool = False

    def __post_init__(self) -> None:
        """Refuse an account RT's `Account.validate()` would refuse, without echoing the key."""
        if not isinstance(self.token, str) or not self.token:
            raise AccountError(f"account {_show(self.name, [])}: the API key is empty")
        if self.channel not in CHANNELS:
            raise AccountError(f"account {_show(self.name, [self.token])}: unknown channel")
        if self.region is not None and self.region not in REGIONS:
            raise AccountError(
                f"account {_show(self.name, [self.token])}: region must be 'us-east' or 'eu-de'"
            )

    def __repr__(self) -> str:
        """Every field but the API key, so logs and tracebacks can show accounts safely."""
        return (
            f"Account(name={self.name!r}, channel={self.channel!r}, token=***, "
            f"instance={self.instance!r}, url={self.url!r}, region={self.region!r}, "
            f"private_endpoint={self.private_endpoint!r}, verify={self.verify!r}, "
            f"iam_url={self.iam_url!r}, is_default_account={self.is_default_account!r})"
        )

    __str__ = __repr__

    @property
    def has_crn(self) -> bool:
        """Whether the instance is a CRN; without one RT looks the instance up over the network."""
        return is_crn(self.instance)


def is_crn(value: object) -> bool:
    """RT `utils/utils.py::is_crn`: a string that starts with ``crn:``."""
    return isinstance(value, str) and value.startswith("crn:")


def default_accounts_path() -> Path:
    """RT `_DEFAULT_ACCOUNT_CONFIG_JSON_FILE`: ``~/.qiskit/qiskit-ibm.json``."""
    return Path.home() / ".qiskit" / "qiskit-ibm.json"


def api_base_url(account: Account) -> str:
    """The REST API base (``.../api/v1``) for an account.

    Mirrors RT 0.51.0 ``qiskit_ibm_runtime/api/utils.py::default_runtime_url_resolver``, called
    with ``Account.url`` (RT defaults it to ``https://cloud.ibm.com``): the region is the CRN's
    6th field and only the scheme and host of ``url`` survive (port and path are dropped, the host
    is lower-cased). The saved ``region`` plays no part. A url containing ``experimental``, or an
    instance that is not a CRN (a name, ``auto`` or none), leaves the url unchanged.

    Divergence: where RT builds garbage or crashes we raise AccountError instead: a CRN with
    fewer than 7 fields (RT: AttributeError) or a url without scheme and host (RT:
    ``://quantum.None/api/v1``).
    """
    url = account.url or DEFAULT_URL
    if not is_crn(account.instance) or "experimental" in url:
        return url
    region = _crn_field(account, 6)
    parsed = urlparse(url)
    if not parsed.scheme or not parsed.hostname:
        raise AccountError(
            f"account {_show(account.name, [account.token])}: url has no scheme or host"
        )
    if account.private_endpoint:
        return f"{parsed.scheme}://private.{region}.quantum.{parsed.hostname}/api/v1"
    region_prefix = "" if region == "us-east" else f"{region}."
    return f"{parsed.scheme}://{region_prefix}quantum.{parsed.hostname}/api/v1"


def iam_url(account: Account, env: Mapping[str, str]) -> str:
    """Where the API key is exchanged for a bearer token (``POST {iam_url}/identity/token``).

    Mirrors RT 0.51.0 ``api/auth.py::CloudAuth.__init__``: ``IAM_URL`` from the environment
    (here ``env``, then the override kept on the account), else ``https://iam.cloud.ibm.com``,
    with ``private.`` for a private endpoint and ``iam.test.cloud.ibm.com`` when the CRN's 3rd
    field is ``staging``. The account's ``url`` plays no part (RT's instance look-up uses
    ``iam.{url host}`` instead, but that path needs the network and is not ours).
    """
    override = env.get("IAM_URL") or account.iam_url
    if override:
        return override
    cname = _crn_field(account, 3) if is_crn(account.instance) else None
    host = STAGING_CLOUD_IAM_HOST if cname == "staging" else CLOUD_IAM_HOST
    return f"https://{'private.' if account.private_endpoint else ''}{host}"


def load_saved_accounts(path: Path | None = None) -> dict[str, Account]:
    """The accounts saved by RT, by name and in file order, legacy ``ibm_quantum`` ones skipped.

    A missing file gives ``{}`` (RT would create it). A file that RT's ``AccountManager.list()``
    could not load, or that holds values of the wrong type, raises AccountError naming the file.
    """
    path = (path or default_accounts_path()).expanduser()
    try:
        return _parse_file(path)
    except _Problem as problem:
        message = str(problem)
    # Raised here, outside the frames that held the file's data, so that a traceback shown with
    # its local variables (Textual, rich) cannot reveal an API key.
    raise AccountError(message) from None


def account_from_env(env: Mapping[str, str], channel: str | None = None) -> Account | None:
    """The account RT's ``AccountManager._from_env_variables`` builds, or None without a key.

    ``QISKIT_IBM_TOKEN`` is required; ``QISKIT_IBM_URL``, ``QISKIT_IBM_INSTANCE`` are optional.
    The channel is ``channel``, else ``QISKIT_IBM_CHANNEL``, else ``ibm_quantum_platform``.
    ``IAM_URL`` is kept on the account for ``iam_url``.
    """
    token = env.get("QISKIT_IBM_TOKEN")
    if not token:
        return None
    chosen = channel or env.get("QISKIT_IBM_CHANNEL") or DEFAULT_CHANNEL
    if chosen not in CHANNELS:
        source = "channel" if channel else "QISKIT_IBM_CHANNEL"
        raise AccountError(
            f"{source} is {_show(chosen, [token])}; expected 'ibm_quantum_platform' or 'ibm_cloud'"
        )
    return Account(
        name=ENV_ACCOUNT_NAME,
        channel=cast(Channel, chosen),
        token=token,
        instance=env.get("QISKIT_IBM_INSTANCE") or None,
        url=env.get("QISKIT_IBM_URL") or None,
        iam_url=env.get("IAM_URL") or None,
    )


def find_account(
    name: str | None = None,
    channel: str | None = None,
    *,
    env: Mapping[str, str],
    path: Path | None = None,
) -> Account | None:
    """The one account RT's ``AccountManager.get`` picks, or None where RT raises not-found.

    Order (RT 0.51.0 ``accounts/management.py``):
    1. ``name``: that saved account (``channel`` and the environment are then ignored);
    2. the environment account (``account_from_env``);
    3. with ``channel``: its ``is_default_account`` entry, else its default-named entry, else its
       last entry in file order; without ``channel``: the first ``is_default_account`` entry of
       any channel;
    4. the same three steps for ``channel`` or ``QISKIT_IBM_CHANNEL`` or ``ibm_quantum_platform``;
    5. ``default-ibm-quantum-platform``, then ``default-ibm-cloud``, whatever channel they hold.
    So without ``channel`` or ``QISKIT_IBM_CHANNEL``, a lone ibm_cloud entry that is neither
    marked default nor default-named is never found, as in RT.

    Divergences: legacy ``ibm_quantum`` entries are invisible here (RT crashes when one is
    named or marked default, and step 3 reaches it); an unknown ``name`` gives None where RT
    raises; a bad ``channel`` raises AccountError (RT: ValueError). The file is read only when
    the environment does not settle it, as in RT. ``IAM_URL`` is kept on a saved account too,
    since RT applies it to every account.
    """
    if channel is not None and channel not in CHANNELS:
        raise AccountError("channel must be 'ibm_quantum_platform' or 'ibm_cloud'")
    if name:
        return _with_iam_override(load_saved_accounts(path).get(name), env)
    from_env = account_from_env(env, channel)
    if from_env is not None:
        return from_env
    saved = load_saved_accounts(path)
    env_channel = channel or env.get("QISKIT_IBM_CHANNEL") or DEFAULT_CHANNEL
    found = (
        _default_of_channel(saved, channel)
        or _default_of_channel(saved, env_channel)
        or saved.get(DEFAULT_ACCOUNT_NAMES["ibm_quantum_platform"])
        or saved.get(DEFAULT_ACCOUNT_NAMES["ibm_cloud"])
    )
    return _with_iam_override(found, env)


def all_accounts(env: Mapping[str, str], path: Path | None = None) -> list[Account]:
    """Every account the dashboard can watch: the environment's first, then the saved ones.

    A saved account that reaches the same place with the same key as one already listed (same
    channel, key, instance, url, private endpoint and TLS setting) is dropped. A broken file
    raises AccountError rather than hiding accounts the user expects to see.
    """
    accounts: list[Account] = []
    seen: set[tuple[object, ...]] = set()
    from_env = account_from_env(env)
    candidates: list[Account] = [from_env] if from_env is not None else []
    candidates.extend(_with_iam_override(a, env) for a in load_saved_accounts(path).values())
    for account in candidates:
        key = _identity(account)
        if key not in seen:
            seen.add(key)
            accounts.append(account)
    return accounts


class _Problem(Exception):
    """Internal: why the accounts file is broken; turned into AccountError by the caller."""


def _parse_file(path: Path) -> dict[str, Account]:
    """Read and check the whole file; any problem raises _Problem with a safe message."""
    where = _show(str(path), [], quote=False)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as error:
        raise _Problem(f"{where}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise _Problem(f"{where}: cannot be read ({error.strerror or 'I/O error'})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # error.msg is a fixed phrase from the json module; it never quotes the document.
        raise _Problem(
            f"{where}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise _Problem(f"{where}: invalid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise _Problem(
            f"{where}: expected a JSON object of accounts, got a JSON {_json_type(data)}"
        )
    secrets = _secrets(data)
    accounts: dict[str, Account] = {}
    for name, entry in data.items():
        account = _parse_entry(name, entry, secrets, where)
        if account is not None:
            accounts[name] = account
    return accounts


def _parse_entry(name: str, entry: object, secrets: list[str], where: str) -> Account | None:
    """One saved account checked like RT's ``list()`` and ``Account.validate()`` would."""
    label = f"{where}: account {_show(name, secrets)}"
    if not isinstance(entry, dict):
        raise _Problem(f"{label} is a JSON {_json_type(entry)}, expected an object")
    channel = entry.get("channel")
    if channel == LEGACY_CHANNEL:
        return None
    if channel is None:
        raise _Problem(f"{label} has no channel")
    if channel not in CHANNELS:
        shown = _show(channel, secrets) if isinstance(channel, str) else _json_type(channel)
        raise _Problem(
            f"{label} has channel {shown}; expected 'ibm_quantum_platform' or 'ibm_cloud'"
        )
    token = entry.get("token")
    if not isinstance(token, str) or not token:
        raise _Problem(f"{label}: 'token' must be a non-empty string")
    text = {key: _optional_str(entry, key, label) for key in ("url", "instance", "region")}
    region = text["region"]
    if region is not None and region not in REGIONS:
        raise _Problem(f"{label}: 'region' must be 'us-east' or 'eu-de'")
    flags: dict[str, bool] = {}
    for key, default in _BOOL_FIELDS:
        value = entry.get(key, default)
        if not isinstance(value, bool):
            kind = _json_type(value)
            raise _Problem(f"{label}: {key!r} must be true or false, got a JSON {kind}")
        flags[key] = value
    return Account(
        name=name,
        channel=cast(Channel, channel),
        token=token,
        instance=text["instance"],
        url=text["url"],
        region=cast("Region | None", region),
        private_endpoint=flags["private_endpoint"],
        verify=flags["verify"],
        is_default_account=flags["is_default_account"],
    )


def _optional_str(entry: Mapping[str, Any], key: str, label: str) -> str | None:
    """A string field that may be absent; empty counts as absent, as RT's ``or`` does."""
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Problem(f"{label}: {key!r} must be a string, got a JSON {_json_type(value)}")
    return value or None


def _default_of_channel(saved: Mapping[str, Account], channel: str | None) -> Account | None:
    """RT ``AccountManager._get_default_account``, including its first/last-match quirks."""
    if channel is None:
        return next((a for a in saved.values() if a.is_default_account), None)
    default_named: Account | None = None
    any_of_channel: Account | None = None
    for name, account in saved.items():
        if account.channel != channel:
            continue
        if account.is_default_account:
            return account
        if name == DEFAULT_ACCOUNT_NAMES[account.channel]:
            default_named = account
        any_of_channel = account
    return default_named or any_of_channel


def _with_iam_override(account: Account | None, env: Mapping[str, str]) -> Account | None:
    """Keep ``IAM_URL`` on a saved account, since RT's CloudAuth reads it for every account."""
    override = env.get("IAM_URL") or None
    if account is None or override is None or account.iam_url == override:
        return account
    return Account(
        name=account.name,
        channel=account.channel,
        token=account.token,
        instance=account.instance,
        url=account.url,
        region=account.region,
        private_endpoint=account.private_endpoint,
        verify=account.verify,
        iam_url=override,
        is_default_account=account.is_default_account,
    )


def _identity(account: Account) -> tuple[object, ...]:
    """What makes two accounts the same source of jobs, whatever their names."""
    return (
        account.channel,
        account.token,
        account.instance,
        account.url or DEFAULT_URL,
        account.private_endpoint,
        account.verify,
    )


def _crn_field(account: Account, group: int) -> str:
    """A field of the account's CRN by RT's regex; too few fields is an AccountError."""
    match = _CRN_PATTERN.search(account.instance or "")
    if match is None:
        raise AccountError(
            f"account {_show(account.name, [account.token])}: "
            "instance is not a complete CRN (crn:v1:<cname>:<ctype>:<service>:<region>:...)"
        )
    return match.group(group)


def _secrets(data: object) -> list[str]:
    """Every API key and password in the parsed file, so no message can echo one."""
    found: list[str] = []
    stack: list[object] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, str) and (key == "token" or "password" in str(key)):
                    found.append(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return sorted({s for s in found if s}, key=len, reverse=True)


def _show(value: str, secrets: Iterable[str], *, quote: bool = True) -> str:
    """A one-line, shortened value (quoted unless told) with any secret masked."""
    for secret in secrets:
        if secret:
            value = value.replace(secret, "***")
    value = _CONTROL.sub(" ", value)
    if len(value) > 120:
        value = value[:117] + "..."
    return repr(value) if quote else value


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages that must not show the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
