"""Accounts are found exactly as qiskit-ibm-runtime finds them, and API keys never leak."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import pytest

from qjob_tui.api.accounts import (
    ENV_ACCOUNT_NAME,
    Account,
    AccountError,
    account_from_env,
    all_accounts,
    api_base_url,
    find_account,
    iam_url,
    load_saved_accounts,
)

TOKEN = "Zq7-SECRET-APIKEY-do-not-leak-4c1e"
ENV_VARS = (
    "QISKIT_IBM_TOKEN",
    "QISKIT_IBM_URL",
    "QISKIT_IBM_INSTANCE",
    "QISKIT_IBM_CHANNEL",
    "IAM_URL",
)


def crn(region: str = "us-east", cname: str = "bluemix") -> str:
    return f"crn:v1:{cname}:public:quantum-computing:{region}:a/0123abcd:5678-ef90::"


def account(**fields: Any) -> Account:
    values: dict[str, Any] = {"name": "a", "channel": "ibm_quantum_platform", "token": TOKEN}
    values.update(fields)
    return Account(**values)


def entry(token: str, channel: str = "ibm_quantum_platform", **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"channel": channel, "token": token, "instance": crn()}
    data.update(fields)
    return data


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "qiskit-ibm.json"
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    return path


def write_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "qiskit-ibm.json"
    path.write_text(text, encoding="utf-8")
    return path


def chosen(found: Account | None) -> str | None:
    return None if found is None else found.token


# --- API base URL ---------------------------------------------------------------------------


def test_us_east_uses_the_global_host() -> None:
    assert api_base_url(account(instance=crn("us-east"))) == "https://quantum.cloud.ibm.com/api/v1"


def test_eu_de_gets_a_region_prefix() -> None:
    assert (
        api_base_url(account(instance=crn("eu-de"))) == "https://eu-de.quantum.cloud.ibm.com/api/v1"
    )


def test_private_endpoint_names_the_region_even_for_us_east() -> None:
    private = account(instance=crn("us-east"), private_endpoint=True)
    assert api_base_url(private) == "https://private.us-east.quantum.cloud.ibm.com/api/v1"
    private_eu = account(instance=crn("eu-de"), private_endpoint=True, channel="ibm_cloud")
    assert api_base_url(private_eu) == "https://private.eu-de.quantum.cloud.ibm.com/api/v1"


def test_experimental_url_is_used_unchanged() -> None:
    url = "https://experimental-7.quantum.example.test/api/v1"
    assert api_base_url(account(instance=crn("eu-de"), url=url)) == url


def test_non_crn_instance_leaves_the_url_unchanged() -> None:
    assert api_base_url(account(instance="my-instance")) == "https://cloud.ibm.com"
    assert api_base_url(account(instance=None)) == "https://cloud.ibm.com"
    local = "http://127.0.0.1:8000/api/v1"
    assert api_base_url(account(instance="local", url=local)) == local


def test_url_host_feeds_the_api_host_and_loses_port_and_path() -> None:
    staging = account(instance=crn("us-east", "staging"), url="https://test.cloud.ibm.com")
    assert api_base_url(staging) == "https://quantum.test.cloud.ibm.com/api/v1"
    local = account(instance=crn("eu-de"), url="http://LocalHost:8080/some/path")
    assert api_base_url(local) == "http://eu-de.quantum.localhost/api/v1"


def test_saved_region_never_changes_the_url() -> None:
    assert api_base_url(account(instance=crn("us-east"), region="eu-de")) == (
        "https://quantum.cloud.ibm.com/api/v1"
    )


def test_unusable_crn_or_url_is_an_account_error_not_a_crash() -> None:
    with pytest.raises(AccountError, match="not a complete CRN"):
        api_base_url(account(instance="crn:v1:bluemix:public"))
    with pytest.raises(AccountError, match="no scheme or host"):
        api_base_url(account(instance=crn(), url="cloud.ibm.com"))


@pytest.mark.parametrize(
    ("url", "instance", "private"),
    [
        (None, crn("us-east"), False),
        (None, crn("eu-de"), False),
        (None, crn("us-east"), True),
        (None, crn("eu-de"), True),
        ("https://cloud.ibm.com", crn("us-east", "staging"), False),
        ("https://test.cloud.ibm.com", crn("eu-de", "staging"), True),
        ("http://localhost:8080/x", crn("eu-de"), False),
        ("https://my-experimental.example.test/api/v1", crn("eu-de"), False),
        ("https://cloud.ibm.com", "an-instance-name", False),
        ("https://cloud.ibm.com", None, True),
        ("http://127.0.0.1:9000/api/v1", "local", False),
        ("https://cloud.ibm.com", "crn:v1:bluemix:public:quantum-computing::a/1:2::", False),
    ],
)
def test_api_base_url_matches_qiskit_ibm_runtime(
    url: str | None, instance: str | None, private: bool
) -> None:
    rt_utils = pytest.importorskip("qiskit_ibm_runtime.api.utils")
    rt_account = pytest.importorskip("qiskit_ibm_runtime.accounts.account")
    rt = rt_account.Account.create_account(
        channel="ibm_cloud", token=TOKEN, url=url, instance=instance, private_endpoint=private
    )
    expected = rt_utils.default_runtime_url_resolver(rt.url, rt.instance, private, rt.channel)
    ours = account(url=url, instance=instance, private_endpoint=private, channel="ibm_cloud")
    assert api_base_url(ours) == expected


# --- IAM URL --------------------------------------------------------------------------------


def test_iam_url_default_private_and_staging() -> None:
    assert iam_url(account(instance=crn()), {}) == "https://iam.cloud.ibm.com"
    private = account(instance=crn(), private_endpoint=True)
    assert iam_url(private, {}) == "https://private.iam.cloud.ibm.com"
    staging = account(instance=crn("eu-de", "staging"))
    assert iam_url(staging, {}) == "https://iam.test.cloud.ibm.com"
    private_staging = account(instance=crn("eu-de", "staging"), private_endpoint=True)
    assert iam_url(private_staging, {}) == "https://private.iam.test.cloud.ibm.com"


def test_iam_url_ignores_the_account_url() -> None:
    test_cloud = account(instance=crn(), url="https://test.cloud.ibm.com")
    assert iam_url(test_cloud, {}) == "https://iam.cloud.ibm.com"


def test_iam_url_env_override_wins() -> None:
    staging = account(instance=crn("us-east", "staging"), private_endpoint=True)
    assert iam_url(staging, {"IAM_URL": "https://iam.example.test"}) == "https://iam.example.test"
    kept = account(instance=crn(), iam_url="https://kept.example.test")
    assert iam_url(kept, {}) == "https://kept.example.test"
    assert iam_url(kept, {"IAM_URL": ""}) == "https://kept.example.test"


@pytest.mark.parametrize(
    ("instance", "private", "env_iam"),
    [
        (crn(), False, None),
        (crn(), True, None),
        (crn("eu-de", "staging"), False, None),
        (crn("eu-de", "staging"), True, None),
        ("not-a-crn", True, None),
        (None, False, None),
        (crn("eu-de", "staging"), True, "https://iam.override.test"),
    ],
)
def test_iam_url_matches_qiskit_ibm_runtime_cloud_auth(
    monkeypatch: pytest.MonkeyPatch, instance: str | None, private: bool, env_iam: str | None
) -> None:
    rt_auth = pytest.importorskip("qiskit_ibm_runtime.api.auth")
    env = {"IAM_URL": env_iam} if env_iam else {}
    if env_iam:
        monkeypatch.setenv("IAM_URL", env_iam)
    else:
        monkeypatch.delenv("IAM_URL", raising=False)
    expected = rt_auth.CloudAuth(api_key=TOKEN, crn=instance, private=private).tm.url
    assert iam_url(account(instance=instance, private_endpoint=private), env) == expected


# --- saved accounts -------------------------------------------------------------------------


def test_saved_file_is_parsed_with_defaults_and_default_flag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "cloud": {
                "channel": "ibm_cloud",
                "token": "k1",
                "instance": crn("eu-de"),
                "url": "https://cloud.ibm.com",
                "private_endpoint": True,
                "verify": False,
                "region": "eu-de",
                "is_default_account": True,
                "plans_preference": ["open"],
                "tags": ["x"],
                "proxies": {"urls": {"https": "http://proxy:3128"}},
            },
            "plain": {"channel": "ibm_quantum_platform", "token": "k2"},
            "empties": {"channel": "ibm_quantum_platform", "token": "k3", "url": "", "region": ""},
        },
    )
    accounts = load_saved_accounts(path)
    assert list(accounts) == ["cloud", "plain", "empties"]
    assert accounts["cloud"] == Account(
        name="cloud",
        channel="ibm_cloud",
        token="k1",
        instance=crn("eu-de"),
        url="https://cloud.ibm.com",
        region="eu-de",
        private_endpoint=True,
        verify=False,
        is_default_account=True,
    )
    plain = accounts["plain"]
    assert (plain.instance, plain.url, plain.region) == (None, None, None)
    assert (plain.private_endpoint, plain.verify, plain.is_default_account) == (False, True, False)
    assert accounts["empties"].url is None
    assert accounts["empties"].region is None


def test_legacy_ibm_quantum_entries_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "old": {"channel": "ibm_quantum", "token": "legacy", "url": 42},
            "default-ibm-quantum-platform": entry("new"),
        },
    )
    assert list(load_saved_accounts(path)) == ["default-ibm-quantum-platform"]


def test_missing_file_is_no_accounts_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "qiskit-ibm.json"
    assert load_saved_accounts(path) == {}
    assert not path.parent.exists()


def test_default_path_is_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".qiskit").mkdir()
    write(tmp_path / ".qiskit", {"mine": entry("k")})
    assert list(load_saved_accounts()) == ["mine"]


def test_file_saved_by_qiskit_ibm_runtime_reads_the_same(tmp_path: Path) -> None:
    management = pytest.importorskip("qiskit_ibm_runtime.accounts.management")
    path = tmp_path / "qiskit-ibm.json"
    manager = management.AccountManager
    manager.save(
        token="t-cloud",
        channel="ibm_cloud",
        instance=crn("eu-de"),
        filename=str(path),
        name="cloud",
        region="eu-de",
        private_endpoint=True,
        verify=False,
        set_as_default=True,
    )
    manager.save(token="t-iqp", channel="ibm_quantum_platform", filename=str(path), name=None)
    ours = load_saved_accounts(path)
    theirs = manager.list(filename=str(path))
    assert list(ours) == list(theirs) == ["cloud", "default-ibm-quantum-platform"]
    for name, rt in theirs.items():
        mine = ours[name]
        assert (mine.channel, mine.token, mine.instance) == (rt.channel, rt.token, rt.instance)
        assert (mine.url or "https://cloud.ibm.com") == rt.url
        assert (mine.region, mine.private_endpoint, mine.verify) == (
            rt.region,
            rt.private_endpoint,
            rt.verify,
        )
    assert ours["cloud"].is_default_account


# --- broken files ---------------------------------------------------------------------------


def test_bad_json_names_file_line_and_column(tmp_path: Path) -> None:
    text = '{\n    "a": {\n        "token": "' + TOKEN + '",\n    }\n}\n'
    path = write_text(tmp_path, text)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(AccountError) as caught:
        load_saved_accounts(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"line {expected.value.lineno}, column {expected.value.colno}" in message
    assert "line 4, column 5" in message
    assert "\n" not in message
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([entry("k")], "expected a JSON object of accounts, got a JSON array"),
        ("text", "expected a JSON object of accounts, got a JSON string"),
        ({"a": ["not", "an", "object"]}, "account 'a' is a JSON array"),
        ({"a": {"token": "k"}}, "account 'a' has no channel"),
        ({"a": entry("k", channel="ibm_quantum_classic")}, "has channel 'ibm_quantum_classic'"),
        ({"a": entry("k", channel=7)}, "has channel number"),
        ({"a": {"channel": "ibm_cloud"}}, "'token' must be a non-empty string"),
        ({"a": entry("")}, "'token' must be a non-empty string"),
        ({"a": entry(12345)}, "'token' must be a non-empty string"),
        ({"a": entry("k", url=443)}, "'url' must be a string, got a JSON number"),
        ({"a": entry("k", instance=["crn"])}, "'instance' must be a string, got a JSON array"),
        ({"a": entry("k", region="mars")}, "'region' must be 'us-east' or 'eu-de'"),
        ({"a": entry("k", verify="yes")}, "'verify' must be true or false, got a JSON string"),
        ({"a": entry("k", private_endpoint=1)}, "'private_endpoint' must be true or false"),
        ({"a": entry("k", is_default_account=None)}, "'is_default_account' must be true or false"),
    ],
)
def test_wrong_shapes_are_account_errors(tmp_path: Path, data: object, problem: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(AccountError) as caught:
        load_saved_accounts(path)
    message = str(caught.value)
    assert problem in message
    assert message.startswith(str(path))
    assert "\n" not in message


def test_empty_file_is_bad_json_like_in_qiskit_ibm_runtime(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match="line 1, column 1"):
        load_saved_accounts(write_text(tmp_path, ""))


def test_unreadable_or_non_utf8_file_is_an_account_error(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match="cannot be read"):
        load_saved_accounts(tmp_path)
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(AccountError, match=r"not UTF-8 text \(byte 7\)"):
        load_saved_accounts(path)


def test_account_error_is_a_value_error() -> None:
    assert issubclass(AccountError, ValueError)


# --- environment ----------------------------------------------------------------------------


def test_env_account_needs_a_token() -> None:
    assert account_from_env({}) is None
    assert account_from_env({"QISKIT_IBM_TOKEN": "", "QISKIT_IBM_INSTANCE": crn()}) is None


def test_env_account_reads_every_variable() -> None:
    env = {
        "QISKIT_IBM_TOKEN": "k",
        "QISKIT_IBM_URL": "https://test.cloud.ibm.com",
        "QISKIT_IBM_INSTANCE": crn("eu-de"),
        "QISKIT_IBM_CHANNEL": "ibm_cloud",
        "IAM_URL": "https://iam.example.test",
    }
    assert account_from_env(env) == Account(
        name=ENV_ACCOUNT_NAME,
        channel="ibm_cloud",
        token="k",
        instance=crn("eu-de"),
        url="https://test.cloud.ibm.com",
        iam_url="https://iam.example.test",
    )
    plain = account_from_env({"QISKIT_IBM_TOKEN": "k"})
    assert plain is not None
    assert (plain.channel, plain.url, plain.instance, plain.iam_url) == (
        "ibm_quantum_platform",
        None,
        None,
        None,
    )


def test_env_account_with_a_bad_channel_is_an_account_error() -> None:
    env = {"QISKIT_IBM_TOKEN": TOKEN, "QISKIT_IBM_CHANNEL": "ibm_quantum"}
    with pytest.raises(AccountError, match="QISKIT_IBM_CHANNEL is 'ibm_quantum'"):
        account_from_env(env)


# --- lookup order (AccountManager.get) ------------------------------------------------------


def test_rule_1_explicit_name_beats_env_and_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "default-ibm-quantum-platform": entry("default", is_default_account=True),
            "named": entry("named"),
        },
    )
    env = {"QISKIT_IBM_TOKEN": "env"}
    assert chosen(find_account("named", env=env, path=path)) == "named"


def test_rule_1_name_ignores_the_channel(tmp_path: Path) -> None:
    path = write(tmp_path, {"named": entry("named", channel="ibm_cloud")})
    found = find_account("named", "ibm_quantum_platform", env={}, path=path)
    assert found is not None
    assert found.channel == "ibm_cloud"


def test_rule_1_unknown_or_legacy_name_is_none(tmp_path: Path) -> None:
    path = write(tmp_path, {"old": {"channel": "ibm_quantum", "token": "legacy"}})
    assert find_account("missing", env={}, path=path) is None
    assert find_account("old", env={}, path=path) is None


def test_rule_2_env_beats_saved_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, {"default-ibm-quantum-platform": entry("saved")})
    found = find_account(env={"QISKIT_IBM_TOKEN": "env"}, path=path)
    assert found is not None
    assert (found.name, found.token) == (ENV_ACCOUNT_NAME, "env")


def test_rule_2_env_takes_the_channel_argument_over_its_variable(tmp_path: Path) -> None:
    env = {"QISKIT_IBM_TOKEN": "env", "QISKIT_IBM_CHANNEL": "ibm_quantum_platform"}
    found = find_account(channel="ibm_cloud", env=env, path=tmp_path / "none.json")
    assert found is not None
    assert found.channel == "ibm_cloud"


def test_rule_2_env_account_does_not_read_the_file(tmp_path: Path) -> None:
    path = write_text(tmp_path, "{ broken")
    assert chosen(find_account(env={"QISKIT_IBM_TOKEN": "env"}, path=path)) == "env"
    with pytest.raises(AccountError):
        find_account(env={}, path=path)


def test_rule_3a_channel_default_flag_beats_default_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "default-ibm-cloud": entry("named-default", channel="ibm_cloud"),
            "flagged": entry("flagged", channel="ibm_cloud", is_default_account=True),
            "zz-other": entry("other", channel="ibm_cloud"),
        },
    )
    assert chosen(find_account(channel="ibm_cloud", env={}, path=path)) == "flagged"


def test_rule_3b_default_name_beats_any_entry_of_the_channel(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "aa": entry("aa", channel="ibm_cloud"),
            "default-ibm-cloud": entry("named-default", channel="ibm_cloud"),
            "zz": entry("zz", channel="ibm_cloud"),
            "iqp": entry("iqp", is_default_account=True),
        },
    )
    assert chosen(find_account(channel="ibm_cloud", env={}, path=path)) == "named-default"


def test_rule_3c_any_entry_of_the_channel_is_the_last_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "first": entry("first", channel="ibm_cloud"),
            "iqp": entry("iqp"),
            "last": entry("last", channel="ibm_cloud"),
        },
    )
    assert chosen(find_account(channel="ibm_cloud", env={}, path=path)) == "last"


def test_rule_3_without_channel_first_default_flag_of_any_channel(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "default-ibm-quantum-platform": entry("iqp-named"),
            "cloud": entry("cloud", channel="ibm_cloud", is_default_account=True),
            "iqp": entry("iqp-flagged", is_default_account=True),
        },
    )
    assert chosen(find_account(env={}, path=path)) == "cloud"


def test_rule_4_channel_from_qiskit_ibm_channel(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "default-ibm-quantum-platform": entry("iqp"),
            "mine": entry("cloud", channel="ibm_cloud"),
        },
    )
    env = {"QISKIT_IBM_CHANNEL": "ibm_cloud"}
    assert chosen(find_account(env=env, path=path)) == "cloud"
    assert chosen(find_account(env={}, path=path)) == "iqp"


def test_rule_4_default_channel_is_ibm_quantum_platform(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"a-cloud": entry("cloud", channel="ibm_cloud"), "b-iqp": entry("iqp")},
    )
    assert chosen(find_account(env={}, path=path)) == "iqp"


def test_rule_5_default_named_account_of_another_channel(tmp_path: Path) -> None:
    path = write(tmp_path, {"default-ibm-quantum-platform": entry("iqp")})
    assert chosen(find_account(channel="ibm_cloud", env={}, path=path)) == "iqp"
    path = write(tmp_path, {"default-ibm-cloud": entry("cloud", channel="ibm_cloud")})
    assert chosen(find_account(env={}, path=path)) == "cloud"


def test_rule_5_default_name_wins_even_with_the_wrong_channel_inside(tmp_path: Path) -> None:
    path = write(tmp_path, {"default-ibm-cloud": entry("mislabelled")})
    found = find_account(channel="ibm_cloud", env={}, path=path)
    assert found is not None
    assert (found.token, found.channel) == ("mislabelled", "ibm_quantum_platform")


def test_lone_non_default_cloud_account_is_not_found_without_a_channel(tmp_path: Path) -> None:
    path = write(tmp_path, {"mine": entry("cloud", channel="ibm_cloud")})
    assert find_account(env={}, path=path) is None
    assert chosen(find_account(channel="ibm_cloud", env={}, path=path)) == "cloud"


def test_nothing_anywhere_is_none(tmp_path: Path) -> None:
    assert find_account(env={}, path=tmp_path / "none.json") is None


def test_bad_channel_argument_is_an_account_error(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match="channel must be"):
        find_account(channel="ibm_quantum", env={}, path=tmp_path / "none.json")


def test_bad_channel_variable_without_token_falls_through(tmp_path: Path) -> None:
    path = write(tmp_path, {"default-ibm-cloud": entry("cloud", channel="ibm_cloud")})
    assert chosen(find_account(env={"QISKIT_IBM_CHANNEL": "nope"}, path=path)) == "cloud"


def test_legacy_default_flag_is_invisible(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "old": {"channel": "ibm_quantum", "token": "legacy", "is_default_account": True},
            "mine": entry("iqp"),
        },
    )
    assert chosen(find_account(env={}, path=path)) == "iqp"


def test_iam_url_variable_is_kept_on_saved_accounts(tmp_path: Path) -> None:
    path = write(tmp_path, {"mine": entry("iqp")})
    found = find_account("mine", env={"IAM_URL": "https://iam.example.test"}, path=path)
    assert found is not None
    assert found.iam_url == "https://iam.example.test"
    assert iam_url(found, {}) == "https://iam.example.test"


SCENARIOS: list[tuple[dict[str, Any], dict[str, str], str | None, str | None]] = [
    ({"n": entry("n"), "default-ibm-quantum-platform": entry("d")}, {}, "n", None),
    ({"n": entry("n")}, {"QISKIT_IBM_TOKEN": "env"}, None, None),
    ({"n": entry("n")}, {"QISKIT_IBM_TOKEN": "env"}, "n", "ibm_cloud"),
    (
        {
            "default-ibm-cloud": entry("dc", channel="ibm_cloud"),
            "f": entry("f", channel="ibm_cloud", is_default_account=True),
        },
        {},
        None,
        "ibm_cloud",
    ),
    (
        {
            "a": entry("a", channel="ibm_cloud"),
            "default-ibm-cloud": entry("dc", channel="ibm_cloud"),
            "z": entry("z", channel="ibm_cloud"),
        },
        {},
        None,
        "ibm_cloud",
    ),
    ({"a": entry("a", channel="ibm_cloud"), "z": entry("z", channel="ibm_cloud")}, {}, None, None),
    (
        {"a": entry("a", channel="ibm_cloud"), "z": entry("z", channel="ibm_cloud")},
        {"QISKIT_IBM_CHANNEL": "ibm_cloud"},
        None,
        None,
    ),
    (
        {"d": entry("d"), "c": entry("c", channel="ibm_cloud", is_default_account=True)},
        {},
        None,
        None,
    ),
    ({"default-ibm-quantum-platform": entry("d")}, {}, None, "ibm_cloud"),
    ({"default-ibm-cloud": entry("x")}, {}, None, "ibm_cloud"),
    ({"default-ibm-cloud": entry("dc", channel="ibm_cloud")}, {}, None, None),
    ({"p": entry("p"), "q": entry("q")}, {"QISKIT_IBM_CHANNEL": "bogus"}, None, None),
    ({}, {}, None, None),
]


@pytest.mark.parametrize(("saved", "env", "name", "channel"), SCENARIOS)
def test_lookup_matches_qiskit_ibm_runtime(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    saved: dict[str, Any],
    env: dict[str, str],
    name: str | None,
    channel: str | None,
) -> None:
    management = pytest.importorskip("qiskit_ibm_runtime.accounts.management")
    exceptions = pytest.importorskip("qiskit_ibm_runtime.accounts.exceptions")
    path = write(tmp_path, saved)
    for variable in ENV_VARS:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    try:
        expected = management.AccountManager.get(filename=str(path), name=name, channel=channel)
    except exceptions.AccountNotFoundError:
        expected = None
    ours = find_account(name, channel, env=env, path=path)
    assert chosen(ours) == (None if expected is None else expected.token)
    if ours is not None:
        assert ours.channel == expected.channel


# --- all accounts ---------------------------------------------------------------------------


def test_all_accounts_env_first_then_saved_without_duplicates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "same-as-env": {
                "channel": "ibm_quantum_platform",
                "token": "env",
                "instance": crn(),
                "url": "https://cloud.ibm.com",
            },
            "old": {"channel": "ibm_quantum", "token": "legacy"},
            "cloud": entry("cloud", channel="ibm_cloud"),
            "iqp": entry("iqp"),
            "iqp-copy": entry("iqp"),
            "iqp-private": entry("iqp", private_endpoint=True),
        },
    )
    env = {"QISKIT_IBM_TOKEN": "env", "QISKIT_IBM_INSTANCE": crn(), "IAM_URL": "https://i.test"}
    found = all_accounts(env, path)
    assert [a.name for a in found] == [ENV_ACCOUNT_NAME, "cloud", "iqp", "iqp-private"]
    assert {a.iam_url for a in found} == {"https://i.test"}


def test_all_accounts_without_anything_is_empty(tmp_path: Path) -> None:
    assert all_accounts({}, tmp_path / "none.json") == []


def test_all_accounts_reports_a_broken_file(tmp_path: Path) -> None:
    with pytest.raises(AccountError):
        all_accounts({"QISKIT_IBM_TOKEN": "env"}, write_text(tmp_path, "[1,"))


# --- secrets --------------------------------------------------------------------------------


def _texts_of(error: BaseException) -> list[str]:
    """Everything an exception can show: message, repr, args, traceback and its locals."""
    texts = [str(error), repr(error), repr(error.args)]
    texts.extend(traceback.format_exception(error))
    # Local variables as rich/Textual tracebacks show them; the test's own frame is not ours.
    report = traceback.TracebackException.from_exception(error, capture_locals=True)
    ours = [f for f in report.stack if f.filename.endswith("qjob_tui/api/accounts.py")]
    assert ours, "the error should come from qjob_tui.api.accounts"
    texts.extend(repr(frame.locals) for frame in ours)
    assert report.__cause__ is None
    assert report.__context__ is None
    return texts


BROKEN_WITH_SECRET: list[object] = [
    {"a": entry(TOKEN, url=1)},
    {"a": entry(TOKEN, region=TOKEN)},
    {"a": entry(TOKEN, channel=TOKEN)},
    {TOKEN: entry(TOKEN, verify="no")},
    {"a": entry(TOKEN, channel=f"x{TOKEN}x")},
    {"old": {"channel": "ibm_quantum", "token": TOKEN}, TOKEN: []},
    {"a": entry("k", proxies={"password_ntlm": TOKEN}), TOKEN: 3},
    {"a": entry(TOKEN), "b": {"token": TOKEN}},
]


@pytest.mark.parametrize("data", BROKEN_WITH_SECRET)
def test_file_errors_never_show_the_token(tmp_path: Path, data: object) -> None:
    path = write(tmp_path, data)
    with pytest.raises(AccountError) as caught:
        load_saved_accounts(path)
    for text in _texts_of(caught.value):
        assert TOKEN not in text


def test_bad_json_error_never_shows_the_token(tmp_path: Path) -> None:
    path = write_text(tmp_path, '{"a": {"token": "' + TOKEN + '"\n "channel": 1}}')
    with pytest.raises(AccountError) as caught:
        load_saved_accounts(path)
    for text in _texts_of(caught.value):
        assert TOKEN not in text


def test_env_and_url_errors_never_show_the_token(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for env in (
        {"QISKIT_IBM_TOKEN": TOKEN, "QISKIT_IBM_CHANNEL": TOKEN},
        {"QISKIT_IBM_TOKEN": TOKEN, "QISKIT_IBM_CHANNEL": "bad"},
    ):
        with pytest.raises(AccountError) as caught:
            account_from_env(env)
        errors.append(caught.value)
    with pytest.raises(AccountError) as caught:
        api_base_url(account(name=TOKEN, instance="crn:v1:x"))
    errors.append(caught.value)
    with pytest.raises(AccountError) as caught:
        iam_url(account(name=TOKEN, instance="crn:v1:x"), {})
    errors.append(caught.value)
    with pytest.raises(AccountError) as caught:
        Account(name="a", channel="ibm_quantum", token=TOKEN)  # type: ignore[arg-type]
    errors.append(caught.value)
    with pytest.raises(AccountError) as caught:
        Account(name="a", channel="ibm_cloud", token=TOKEN, region="mars")  # type: ignore[arg-type]
    errors.append(caught.value)
    for error in errors:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
        assert TOKEN not in "".join(traceback.format_exception(error))


def test_accounts_never_show_the_token(tmp_path: Path) -> None:
    from rich.pretty import pretty_repr

    path = write(
        tmp_path,
        {
            "saved": entry(TOKEN, is_default_account=True),
            "old": {"channel": "ibm_quantum", "token": TOKEN},
        },
    )
    env = {"QISKIT_IBM_TOKEN": TOKEN, "QISKIT_IBM_INSTANCE": crn(), "IAM_URL": "https://i.test"}
    objects: list[object] = [
        load_saved_accounts(path),
        account_from_env(env),
        find_account(env=env, path=path),
        find_account("saved", env=env, path=path),
        all_accounts(env, path),
        all_accounts({}, path),
    ]
    for obj in objects:
        assert obj
        for text in (repr(obj), str(obj), f"{obj}", pretty_repr(obj)):
            assert TOKEN not in text
            assert "token=***" in text
    found = find_account(env=env, path=path)
    assert found is not None
    assert found.token == TOKEN
    assert TOKEN not in api_base_url(found) + iam_url(found, env)
