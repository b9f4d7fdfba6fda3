"""A dashboard option given to a subcommand that does not have it is explained the same way
wherever it stands: ``qjob-tui --readonly ls`` and ``qjob-tui ls --readonly`` say the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli_jobs import qjob


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        (
            ("--readonly", "ls"),
            ("ls", "--readonly"),
            "--readonly is not an option of 'qjob-tui ls'",
        ),
        (
            ("--theme", "nord", "cancel", "x"),
            ("cancel", "x", "--theme", "nord"),
            "--theme is not an option of 'qjob-tui cancel'",
        ),
        (
            ("--theme=nord", "tag", "x", "y"),
            ("tag", "x", "y", "--theme=nord"),
            "--theme is not an option of 'qjob-tui tag'",
        ),
        (("--no-mouse", "serve"), ("serve", "--no-mouse"), "--no-mouse is not an option of"),
        (
            ("--relay", "http://127.0.0.1:1", "show", "x"),
            ("show", "x", "--relay", "http://127.0.0.1:1"),
            "--relay is not an option of 'qjob-tui show'",
        ),
        (("--readonly", "usage"), ("usage", "--read"), "--readonly is not an option of"),
    ],
)
def test_a_dashboard_option_is_explained_wherever_it_stands(
    tmp_path: Path, before: tuple[str, ...], after: tuple[str, ...], said: str
) -> None:
    first = qjob(*before, home=tmp_path)
    second = qjob(*after, home=tmp_path)
    assert first.returncode == second.returncode == 2
    assert first.stderr == second.stderr
    lines = first.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and "the dashboard's" in lines[0]


def test_an_unknown_option_is_still_named(tmp_path: Path) -> None:
    done = qjob("ls", "--bogus", home=tmp_path)
    assert done.returncode == 2 and "unrecognized arguments: --bogus" in done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--json", "ls"), "--json is an option of 'qjob-tui ls': put it after 'ls'"),
        (("--watch", "ls"), "--watch is an option of 'qjob-tui ls': put it after 'ls'"),
        (("--limit", "5", "ls"), "--limit is an option of 'qjob-tui ls': put it after 'ls'"),
        (("--limit=5", "ls", "--json"), "--limit is an option of 'qjob-tui ls'"),
        (("--js", "show", "x"), "--json is an option of 'qjob-tui show': put it after 'show'"),
        (("--source", "local", "--backend", "b", "submit", "f.qasm"), "put it after 'submit'"),
        (("--json",), "--json is not an option of the dashboard"),
    ],
)
def test_a_subcommands_option_before_it_says_where_it_goes(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    done = qjob(*args, home=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert said in lines[0] and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--tokn", "the-secret-typed-in-1234", "ls"),
        ("--tokn", "the-secret-typed-in-1234"),
        ("--limit", "the-secret-typed-in-1234", "ls"),
        ("--source", "local", "--tokn", "the-secret-typed-in-1234", "cancel", "x"),
    ],
)
def test_an_unknown_option_before_the_subcommand_never_repeats_its_value(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = qjob(*args, home=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "the-secret-typed-in" not in done.stderr + done.stdout


def test_tag_without_arguments_asks_only_for_the_id(tmp_path: Path) -> None:
    done = qjob("tag", home=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "required: ID" in lines[0] and "TAG" not in lines[0]
