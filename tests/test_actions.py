"""One registry of action ids (ui/actions.py): every key of the dashboard comes from it, so the
help, the palette and the keymap check know every binding."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import replace

from textual.binding import Binding
from textual.dom import DOMNode

import qjob_tui.ui
from qjob_tui.ui.actions import ACTIONS, BY_ID, DASHBOARD_AREAS, bindings, remappable_ids
from qjob_tui.ui.dialogs.confirm_session import ConfirmSession
from qjob_tui.ui.dialogs.help import HelpScreen
from tests.apps.dashboard_app import make_app
from tests.test_app import help_text
from tests.test_daily_use import settle, until


def _ui_classes() -> list[type[DOMNode]]:
    """Every widget, screen and app class the ui package defines."""
    found = []
    for module_info in pkgutil.walk_packages(qjob_tui.ui.__path__, "qjob_tui.ui."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_every_binding_of_the_ui_comes_from_the_registry() -> None:
    """No class declares a key of its own: each one's BINDINGS is its area's of the registry,
    and every area of the registry has its class."""
    areas_seen = set()
    for cls in _ui_classes():
        declared = cls.__dict__.get("BINDINGS")
        if not declared:
            continue
        ids = [b.id for b in declared if isinstance(b, Binding)]
        assert None not in ids, f"{cls.__name__} has a binding without an id"
        area = {BY_ID[i].area for i in ids}
        assert len(area) == 1, f"{cls.__name__} mixes areas {area}"
        (name,) = area
        assert [b.id for b in bindings(name)] == ids, cls.__name__
        areas_seen.add(name)
    assert areas_seen == {action.area for action in ACTIONS}


def test_the_ids_a_keymap_may_name_are_every_id_of_the_registry() -> None:
    assert remappable_ids() == {action.id for action in ACTIONS}
    assert {"confirm_session.yes", "session_tree.first", "session_tree.last"} <= remappable_ids()


async def test_session_keys_and_dialog_keys_can_be_remapped() -> None:
    """``confirm_session.yes`` and ``session_tree.*`` were refused as no binding of qjob-tui."""
    app = make_app()
    keymap = {"confirm_session.yes": "Y", "session_tree.first": "ctrl+home", "app.quit": "q"}
    app.settings = replace(app.settings, keymap=keymap)
    said: list[str] = []
    app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert said == []
        await pilot.press("z", "C")  # the grouped view, close the session under the cursor
        await until(pilot, lambda: isinstance(app.screen, ConfirmSession))
        bound = {b.binding.id: key for key, b in app.screen.active_bindings.items()}
        assert bound["confirm_session.yes"] == "Y"


async def test_help_lists_every_key_of_the_dashboard_by_area() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = help_text(app.screen)
        for action in ACTIONS:
            if action.area in DASHBOARD_AREAS:
                assert (action.help or action.description) in text, action.id
        for heading in ("Job list", "Sessions and batches (z)", "Log and Raw tabs"):
            assert heading in text
        assert "7  the Raw tab of the job" in text and "1  the Overview tab" in text
