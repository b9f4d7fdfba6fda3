"""``SourceState`` is the only writer of a source's state: no other module assigns its fields.

A scan of every module but ``store/state.py`` for an assignment (``=``, ``+=``, ``del``) to a
field of a ``SourceState`` or its ``Cursors``, or a call that mutates one in place (``.add``,
``.pop``, …), reached through a name or attribute called ``state`` or ``cursors`` (the store's
names for them). It reads names, not types: an alias under another name escapes it, which is
why the store's parts keep those names. A second test shows the scan finds such a write.
"""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

from qjob_tui.store.state import Cursors, SourceState

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qjob_tui"
OWNER = PACKAGE / "store" / "state.py"

FIELDS = set(vars(SourceState("x"))) | {f.name for f in fields(Cursors)}
LINKS = {"state", "cursors"}
MUTATORS = {
    "add",
    "append",
    "clear",
    "difference_update",
    "discard",
    "extend",
    "insert",
    "intersection_update",
    "pop",
    "popitem",
    "remove",
    "setdefault",
    "update",
}


def _is_link(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in LINKS) or (
        isinstance(node, ast.Attribute) and node.attr in LINKS
    )


def _field_reached(target: ast.expr) -> str | None:
    """The state's field a target (``state.jobs[k]``, ``work.state.cursors.due``) lies in."""
    node = target
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute) and node.attr in FIELDS and _is_link(node.value):
            return node.attr
        node = node.value
    return None


def state_writes(source: str) -> list[tuple[int, str]]:
    """(line, field) of every write to a state's field in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in _unpacked(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
        ):
            targets = [node.func.value]
        for target in targets:
            field = _field_reached(target)
            if field is not None:
                found.append((node.lineno, field))
    return sorted(found)


def _unpacked(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for element in target.elts for t in _unpacked(element)]
    return [target]


def test_no_module_but_state_writes_a_source_state() -> None:
    writes = [
        f"{path.relative_to(ROOT)}:{line} writes {field}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != OWNER
        for line, field in state_writes(path.read_text())
    ]
    assert writes == []


def test_the_scan_finds_each_kind_of_write() -> None:
    source = """
state.identity = "x"
poller.state.cache, other = None, 1
work.state.cursors.due -= ids
cursors.history_complete = True
state.sessions[sid] = session
state.missing_sessions.add(sid)
self.state.streamed.clear()
del state.intents[job_id]
"""
    assert [field for _, field in state_writes(source)] == [
        "identity",
        "cache",
        "due",
        "history_complete",
        "sessions",
        "missing_sessions",
        "streamed",
        "intents",
    ]
    reads = """
app.state.relay = relay
self.state = fresh
work.state, work.delta = self.state, Delta()
jobs = state.jobs.get(job_id)
self.jobs[job.id] = job
"""
    assert state_writes(reads) == []
