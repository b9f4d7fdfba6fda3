"""Snapshots of every screen and dialog of the dashboard, at 80x24 and at 120x40.

The app is ``tests/apps/dashboard_app.py``: fixed jobs, backends and clock, no network. Each
snapshot is one ``Shot`` of that module (the screenshot script makes the README's pictures from
the same list). After a deliberate change of the interface, look at the failing pictures in
``snapshot_report.html`` and accept them with ``pytest tests/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest
import textual.constants

from tests.apps.dashboard_app import (
    CLOCK,
    DONE_JOB,
    SHOTS,
    Shot,
    make_app,
    make_store,
    sample_jobs,
)

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}

# Variables that change how Textual and Rich draw: colours, theme, animations.
_RENDERING_ENV = (
    "NO_COLOR",
    "FORCE_COLOR",
    "TEXTUAL_THEME",
    "TEXTUAL_COLOR_SYSTEM",
    "TEXTUAL_ANIMATIONS",
    "TEXTUAL_FPS",
    "COLORTERM",
    "COLUMNS",
    "LINES",
)
# What Textual read from some of them when it was imported, before any fixture ran. (The theme
# is pinned by the app itself; TEXTUAL_DIM_FACTOR is baked into a default argument at import.)
_IMPORTED = {"COLOR_SYSTEM": "auto", "TEXTUAL_ANIMATIONS": "full", "PRESS": ""}


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots depend on colour settings: pin them whatever the shell has."""
    for name in _RENDERING_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in _IMPORTED.items():
        monkeypatch.setattr(textual.constants, name, value)


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("shot", SHOTS, ids=[shot.name for shot in SHOTS])
def test_screen(snap_compare, shot: Shot, size: tuple[int, int]) -> None:
    """One screen, reached as a person would (keys) or by picking a job and a tab."""
    app = make_app(readonly=shot.readonly, size_hint=size, variant=shot.variant)
    assert snap_compare(app, terminal_size=size, run_before=shot.prepare)


WIDE = ("main", "full-view", "raw", "random-bits", "sessions", "help")


@pytest.mark.parametrize("name", WIDE)
def test_screen_at_200x50(snap_compare, name: str) -> None:
    """A wide terminal: the details pane is wider than at 120 columns, every tab in view."""
    (shot,) = [shot for shot in SHOTS if shot.name == name]
    app = make_app(readonly=shot.readonly, size_hint=(200, 50), variant=shot.variant)
    assert snap_compare(app, terminal_size=(200, 50), run_before=shot.prepare)


def test_every_shot_has_a_unique_name() -> None:
    names = [shot.name for shot in SHOTS]
    assert len(set(names)) == len(names)


def test_the_sample_state_is_fixed() -> None:
    assert sample_jobs() == sample_jobs()
    jobs = sample_jobs()
    assert all(job.created < CLOCK for job in jobs)
    assert {job.status for job in jobs} == {status for status in type(jobs[0].status)}
    store = make_store()
    assert store.job(("local", DONE_JOB)) is not None
    assert store.queue_history("local", "fake_cairo")[-1] == 14
