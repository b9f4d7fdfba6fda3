"""What config.toml gets wrong never stops the dashboard: the problem is a notice and the
default applies (a theme no one registered included), on the fixed dashboard."""

from __future__ import annotations

from pathlib import Path

from qjob_tui.config import Settings, load_settings
from qjob_tui.ui.app import QJobApp
from tests.apps.dashboard_app import make_store
from tests.test_daily_use import settle


def _notices(app: QJobApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_an_unknown_theme_in_the_config_is_a_notice_and_the_default(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('theme = "bogus"\n')
    settings, notices = load_settings(config)
    default = QJobApp(make_store(), start_store=False).theme
    app = QJobApp(
        make_store(), settings=settings, notices=notices, start_store=False, config_path=config
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.theme == default
        (notice,) = [n for n in _notices(app) if "bogus" in n]
        assert str(config) in notice and "'bogus'" in notice
        assert "nord" in notice and "textual-dark" in notice  # the themes there are
    assert 'theme = "bogus"' in config.read_text()  # the user's line is left as written


def test_every_setting_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    """Each setting Settings has, given a value of a type none of them takes (a table)."""
    from dataclasses import fields

    config = tmp_path / "config.toml"
    names = [f.name for f in fields(Settings) if f.name not in ("keymap", "sources")]
    config.write_text("".join(f"{name} = {{ x = 1 }}\n" for name in names))
    settings, problems = load_settings(config)
    assert settings == Settings()
    for name in names:
        assert any(p.startswith(f"{config}: {name} must be") for p in problems), name
