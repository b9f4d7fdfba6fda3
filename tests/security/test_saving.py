"""A local dashboard writes only under the downloads folder, never through a link, never over a
file without asking; a dashboard for a remote viewer writes nothing at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qjob_tui.saving import (
    REMOTE_VIEWER_VARIABLE,
    FileExists,
    SaveRefused,
    of_kind,
    remote_viewer,
    save_target,
    write_file,
)


@pytest.fixture()
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    return folder


LOCAL: dict[str, str] = {}


def test_a_bare_or_relative_name_goes_into_the_downloads_folder(downloads: Path) -> None:
    target = save_target("sub/jobs.csv", downloads, LOCAL)
    write_file(target, b"x")
    assert (downloads / "sub" / "jobs.csv").read_bytes() == b"x"
    assert save_target(str(downloads / "a.csv"), downloads, LOCAL).path == downloads / "a.csv"


@pytest.mark.parametrize(
    "typed",
    [
        "/etc/passwd",
        "/tmp/qjob-export.csv",
        "../outside.csv",
        "sub/../../outside.csv",
        "~/.bashrc",
        "/proc/self/fd/1",
        "/proc/self/cwd/x.csv",
        "/dev/shm/x.csv",
        "",
        "  ",
        "x\x00.csv",
        "~nosuch-qjob-user",
        "~nosuch-qjob-user/x.csv",
    ],
)
def test_names_outside_the_downloads_folder_are_refused(
    typed: str, downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(downloads.parent))
    with pytest.raises(SaveRefused):
        save_target(typed, downloads, LOCAL)


def test_a_link_inside_the_folder_does_not_lead_out(downloads: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (downloads / "link").symlink_to(outside)
    with pytest.raises(SaveRefused, match="link"):
        write_file(save_target("link/jobs.csv", downloads, LOCAL), b"x")
    assert not list(outside.iterdir())


def test_a_link_in_the_files_place_is_never_written_through(
    downloads: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (downloads / "jobs.csv").symlink_to(victim)
    target = save_target("jobs.csv", downloads, LOCAL)
    with pytest.raises(FileExists):
        write_file(target, b"overwritten")
    write_file(target, b"new", replace=True)  # the user said replace: the link is replaced
    assert victim.read_text() == "keep me"
    assert not (downloads / "jobs.csv").is_symlink()
    assert (downloads / "jobs.csv").read_bytes() == b"new"


def test_an_existing_file_is_replaced_only_when_asked(downloads: Path) -> None:
    (downloads / "jobs.csv").write_text("old")
    target = save_target("jobs.csv", downloads, LOCAL)
    with pytest.raises(FileExists):
        write_file(target, b"new")
    assert (downloads / "jobs.csv").read_text() == "old"
    write_file(target, b"new", replace=True)
    assert (downloads / "jobs.csv").read_text() == "new"
    assert [p.name for p in downloads.iterdir()] == ["jobs.csv"]  # no spare left behind


@pytest.mark.parametrize("value", ["1", "yes", "true"])
def test_a_remote_viewer_saves_nothing_anywhere(value: str, downloads: Path) -> None:
    env = {REMOTE_VIEWER_VARIABLE: value}
    assert remote_viewer(env)
    for typed in ("jobs.csv", str(downloads / "jobs.csv")):
        with pytest.raises(SaveRefused, match="remote viewer"):
            save_target(typed, downloads, env)
    assert not remote_viewer({REMOTE_VIEWER_VARIABLE: "0"}) and not remote_viewer({})


def test_files_are_written_with_the_users_umask_not_wider(downloads: Path) -> None:
    old = os.umask(0o077)
    try:
        write_file(save_target("private.csv", downloads, LOCAL), b"x")
    finally:
        os.umask(old)
    assert (downloads / "private.csv").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "typed",
    [
        "bell\x07tab\tesc\x1b[31mred.csv",  # a bell, a tab and a colour escape
        "rtl\u202etxt.csv",  # shown as "rtlvsc.txt": a spoofed extension
        "zero\u200bwidth.csv",
        "line\nbreak.csv",
    ],
)
def test_a_name_with_hidden_characters_is_refused(typed: str, downloads: Path) -> None:
    with pytest.raises(SaveRefused, match="control or invisible characters"):
        save_target(typed, downloads, LOCAL)
    assert list(downloads.iterdir()) == []


@pytest.mark.parametrize("typed", [".", "./", "sub/..", "{downloads}", "{downloads}/"])
def test_the_folder_itself_asks_for_a_file_name(typed: str, downloads: Path) -> None:
    with pytest.raises(SaveRefused) as refused:
        save_target(typed.format(downloads=downloads), downloads, LOCAL)
    assert str(refused.value) == (
        f"Not saved: {downloads} is the downloads folder itself; give a file name"
    )


@pytest.mark.parametrize("typed", ["sub/", "sub/.", "{downloads}/sub/"])
def test_a_folder_under_it_asks_for_a_file_name(typed: str, downloads: Path) -> None:
    with pytest.raises(SaveRefused) as refused:
        save_target(typed.format(downloads=downloads), downloads, LOCAL)
    assert str(refused.value) == f"Not saved: {downloads / 'sub'} is a folder; give a file name"


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("jobs", "jobs.csv"),
        ("jobs.", "jobs.csv"),
        ("a/b", "a/b.csv"),
        ("x.JSON", "x.JSON"),
        ("x.json.", "x.json"),
    ],
)
def test_a_name_without_an_ending_gets_the_first_kinds(
    typed: str, written: str, downloads: Path
) -> None:
    target = of_kind(save_target(typed, downloads, LOCAL), (".csv", ".json"))
    assert target.path == downloads / written


@pytest.mark.parametrize("typed", [".csv", "sub/.JSON"])
def test_an_ending_alone_is_no_file_name(typed: str, downloads: Path) -> None:
    with pytest.raises(SaveRefused, match=r"is an ending alone; give a file name before it"):
        of_kind(save_target(typed, downloads, LOCAL), (".csv", ".json"))


@pytest.mark.parametrize("typed", ["jobs .", "jobs. .", "jobs.csv .", "...", "..csv", "..json"])
def test_names_that_end_in_a_space_or_are_dots_are_refused(typed: str, downloads: Path) -> None:
    with pytest.raises(SaveRefused, match="give a file name"):
        of_kind(save_target(typed, downloads, LOCAL), (".csv", ".json"))
