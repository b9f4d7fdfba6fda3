"""The dashboard's actions that write files: export the visible rows (``e``) and save the random
bits shown (``w``). Where and how a file may be written is ``qjob_tui.saving``'s rule, and the
dialogue around it (a remote viewer gets the data offered instead) ``save_flow``'s.

A mixin of ``DashboardScreen``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from textual.screen import Screen

from qjob_tui import locations
from qjob_tui.text import counted
from qjob_tui.ui.save_flow import SavePrompt, save_or_offer

if TYPE_CHECKING:
    from qjob_tui.results import ExtractorResult
    from qjob_tui.ui.detail.pane import JobDetail
    from qjob_tui.ui.jobs.job_list import JobList


class FileActions(Screen[None]):
    """Export and save bits, for the dashboard screen."""

    if TYPE_CHECKING:

        @property
        def job_list(self) -> JobList: ...
        @property
        def detail(self) -> JobDetail: ...
        def shown_bits(self) -> ExtractorResult | None: ...
        def empty_list_reason(self) -> str: ...

    def action_export(self) -> None:
        from qjob_tui.export import job_to_dict, jobs_to_csv  # here: the first frame needs no csv

        rows = self.job_list.rows
        jobs = [rows.row(i) for i in range(len(rows))]
        if not jobs:  # a file of a header alone says nothing the notice does not
            self.notify(f"Nothing to export: {self.empty_list_reason()}.", severity="warning")
            return
        name = f"qjob-jobs-{datetime.now():%Y%m%d-%H%M%S}.csv"
        save_or_offer(
            self.app,
            prompt=SavePrompt("Export the visible rows", "A .csv or .json file"),
            default=str(locations.downloads_dir() / name),
            formats={
                ".csv": lambda: jobs_to_csv(jobs).encode(),
                ".json": lambda: json.dumps([job_to_dict(j) for j in jobs], indent=2).encode(),
            },
            offer=lambda: (jobs_to_csv(jobs), name),
            done=lambda target: f"Exported {counted(len(jobs), 'job')} to {target.path}",
        )

    def action_save_bits(self) -> None:
        bits = self.shown_bits()
        key = self.detail.key
        if bits is None or key is None:
            return

        save_or_offer(
            self.app,
            prompt=SavePrompt(
                "Save the random bits",
                ".bin packs them LSB first, .txt writes 0 and 1, .hex writes hex digits",
            ),
            default=str(locations.downloads_dir() / f"random-bits-{key[1]}.bin"),
            formats={
                ".bin": bits.to_bytes,
                ".txt": lambda: ("".join(str(int(b)) for b in bits.bits) + "\n").encode(),
                ".hex": lambda: (bits.hex + "\n").encode(),
            },
            offer=lambda: (bits.hex, f"random-bits-{key[1]}.hex"),
            done=lambda target: f"Saved {bits.num_bits:,} bits to {target.path}",
        )
