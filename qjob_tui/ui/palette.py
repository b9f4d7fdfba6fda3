"""The command palette's commands: every action that has a key, by a name people search for.

Built from the live bindings, so the palette and the keys never drift apart: a new key with an
id shows up here too, remapped keys are shown as mapped, and ``--readonly`` leaves out what it
forbids. ``:`` and ``ctrl+p`` open it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.app import SystemCommand
from textual.binding import Binding

# Palette titles by binding id: the words a person types (sort, mark, only, copy, backends).
TITLES: dict[str, str] = {
    "app.quit": "Quit",
    "app.help": "Help: every key",
    "app.filter": "Filter the list",
    "app.clear_filter": "Clear the filter",
    "app.cancel": "Cancel jobs (the marked ones, or the selected one)",
    "app.tags": "Edit tags of the selected job",
    "app.rename": "Rename the selected job",
    "app.refresh": "Refresh now",
    "app.pause": "Pause or resume polling",
    "app.export": "Export the visible rows (CSV or JSON)",
    "app.only_active": "Only active jobs (queued and running)",
    "app.only_failed": "Only failed jobs",
    "app.toggle_queue": "Backends pane: show or hide",
    "app.log": "Log of the selected job",
    "app.raw": "Raw JSON of the selected job",
    "app.columns": "Columns: choose which the list shows",
    "app.extract": "Extract random bits from the selected sampler job",
    "app.copy": "Copy the job id",
    "app.open_page": "Open the job's page on IBM Quantum Platform",
    "app.save_bits": "Save random bits to a file",
    "job_list.toggle_mark": "Mark or unmark the selected job",
    "job_list.mark_all": "Mark all visible jobs",
    "job_list.clear_marks": "Unmark all jobs",
    "job_list.cycle_sort": "Sort by the next column",
    "job_list.reverse_sort": "Sort in reverse order",
    "job_list.cursor_first": "Go to the first job",
    "job_list.cursor_last": "Go to the last job",
    "job_list.select": "Open the selected job's details",
}


def binding_commands(
    bindings: Iterable[Binding],
    run: Callable[[Binding], None],
    allowed: Callable[[Binding], bool],
    key_display: Callable[[Binding], str],
) -> list[SystemCommand]:
    """One command per binding that has a palette title, with its key in the help line."""
    commands = []
    for binding in bindings:
        title = TITLES.get(binding.id or "")
        if title is None or not allowed(binding):
            continue
        about = binding.tooltip or binding.description
        commands.append(
            SystemCommand(
                title,
                f"{about} · key {key_display(binding)}",
                lambda binding=binding: run(binding),  # type: ignore[misc]
            )
        )
    return commands
