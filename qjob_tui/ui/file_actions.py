"""The dashboard's actions that write files: export the visible rows (``e``) and save the random
bits shown (``w``). The files are written in threads, never on the event loop.

A mixin of ``DashboardScreen``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from qjob_tui import locations
from qjob_tui.export import job_to_dict, jobs_to_csv
from qjob_tui.model import ExtractorResult, Job

if TYPE_CHECKING:
    from qjob_tui.ui.detail.pane import JobDetail
    from qjob_tui.ui.jobs.job_list import JobList


def saving_path(typed: str) -> Path:
    """Where a file the user named goes: a bare or relative name into the downloads folder
    (never the current directory, which under ``make run`` is the project's checkout)."""
    path = Path(typed.strip()).expanduser()
    return path if path.is_absolute() else locations.downloads_dir() / path


class FileActions(Screen[None]):
    """Export and save bits, for the dashboard screen."""

    if TYPE_CHECKING:

        @property
        def job_list(self) -> JobList: ...
        @property
        def detail(self) -> JobDetail: ...
        def shown_bits(self) -> ExtractorResult | None: ...

    def action_export(self) -> None:
        name = f"qjob-jobs-{datetime.now():%Y%m%d-%H%M%S}.csv"
        default = str(locations.downloads_dir() / name)

        def chosen(path: str | None) -> None:
            if path:
                rows = self.job_list.rows
                jobs = [rows.row(i) for i in range(len(rows))]
                self.write_export(saving_path(path), jobs)

        from qjob_tui.ui.dialogs.text_prompt import TextPrompt

        self.app.push_screen(
            TextPrompt("Export the visible rows to (.csv or .json)", default), chosen
        )

    @work(thread=True, group="export", exit_on_error=False)
    def write_export(self, path: Path, jobs: list[Job]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".json":
                path.write_text(json.dumps([job_to_dict(j) for j in jobs], indent=2))
            else:
                path.write_text(jobs_to_csv(jobs))
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"Export failed: {exc}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"Exported {len(jobs)} jobs to {path}")

    def action_save_bits(self) -> None:
        bits = self.shown_bits()
        key = self.detail.key
        if bits is None or key is None:
            return

        def chosen(path: str | None) -> None:
            if path:
                self.write_bits(saving_path(path), bits)

        default = str(locations.downloads_dir() / f"random-bits-{key[1]}.bin")
        prompt = "Save the bits to (.bin packed LSB first, .txt as 0/1, .hex)"
        from qjob_tui.ui.dialogs.text_prompt import TextPrompt

        self.app.push_screen(TextPrompt(prompt, default), chosen)

    @work(thread=True, group="export", exit_on_error=False)
    def write_bits(self, path: Path, bits: ExtractorResult) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            suffix = path.suffix.lower()
            if suffix == ".txt":
                path.write_text("".join(str(int(b)) for b in bits.bits) + "\n")
            elif suffix == ".hex":
                path.write_text(bits.hex + "\n")
            else:
                path.write_bytes(bits.to_bytes())
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"Saving failed: {exc}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"Saved {bits.num_bits:,} bits to {path}")
