"""Settings: a broken config file is reported with its line, and defaults still apply."""

from __future__ import annotations

from pathlib import Path

from qjob_tui.config import ExtraSource, Settings, load_settings


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml") == (Settings(), [])


def test_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'refresh = 5\nbell = true\ntheme = "nord"\n[keymap]\n"app.quit" = "q,x"\n'
        '[[sources]]\nname = "lab"\nurl = "https://lab.example"\ntoken_env = "LAB"\n'
    )
    settings, problems = load_settings(path)
    assert problems == []
    assert settings.refresh == 5.0 and settings.bell and settings.theme == "nord"
    assert settings.keymap == {"app.quit": "q,x"}
    assert settings.sources == (ExtraSource("lab", "https://lab.example", "LAB"),)


def test_broken_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("refresh = 2\nbell = \n")
    settings, problems = load_settings(path)
    assert settings == Settings()
    assert len(problems) == 1 and "line 2" in problems[0] and "using defaults" in problems[0]


def test_bad_values_are_ignored_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('refresh = "fast"\nbell = true\ncolour = 3\nmouse = 1\n[[sources]]\nurl = 1\n')
    settings, problems = load_settings(path)
    assert settings.bell is True and settings.refresh == 2.0
    joined = "\n".join(problems)
    assert "refresh must be a number" in joined
    assert "unknown setting 'colour'" in joined
    assert "mouse must be true or false" in joined
    assert "source 1 needs a name and a url" in joined


def test_refresh_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("refresh = 0.01\n")
    settings, problems = load_settings(path)
    assert settings.refresh == 2.0 and "between 0.2 and 3600" in problems[0]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8" in load_settings(path)[1][0]
