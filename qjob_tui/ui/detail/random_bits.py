"""The Random bits tab: an extractor job's bits as hex and as a picture, and their checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.text import Text

from qjob_tui.model import ExtractorResult
from qjob_tui.text import one_line
from qjob_tui.ui.sized_text import SizedText

if TYPE_CHECKING:  # numpy is loaded with the first bits, not at start-up
    import numpy as np
    from numpy.typing import NDArray

MAX_HEX_DIGITS = 512
MAX_PICTURE_BITS = 4096
# Two bits a cell, one above the other: (top, bottom).
_HALF_BLOCKS = {(0, 0): " ", (1, 0): "▀", (0, 1): "▄", (1, 1): "█"}
_METHODS = {
    "ext1": "Dodis two-source extractor (ext1)",
    "ext2": "Hayashi seeded extractor (ext2)",
    "both": "Dodis (ext1), then Hayashi (ext2)",
}
_PARAMS = (("n", "n"), ("m", "m"), ("a", "a"), ("c", "c"))


def bit_picture(bits: NDArray[np.uint8], width: int) -> list[str]:
    """Rows of half-block characters, each cell two bits: ``width`` bits a line, two lines a row."""
    width = max(width, 8)
    rows = []
    for start in range(0, len(bits), 2 * width):
        top = bits[start : start + width]
        bottom = bits[start + width : start + 2 * width]
        cells = [
            _HALF_BLOCKS[(int(top[i]), int(bottom[i]) if i < len(bottom) else 0)]
            for i in range(len(top))
        ]
        rows.append("".join(cells))
    return rows


def _parameters(params: Mapping[str, object]) -> str:
    parts = [
        f"{label}={params[key]:,}" for key, label in _PARAMS if isinstance(params.get(key), int)
    ]
    raw = params.get("raw_job")
    if isinstance(raw, str):
        parts.append(f"raw bits from job {one_line(raw, 40)}")
    return "  ".join(parts) or "-"


def random_bits_text(result: ExtractorResult, width: int = 60) -> Text:
    text = Text()
    text.append(f"{result.num_bits:,} random bits", style="bold")
    text.append(f" · {_METHODS.get(result.method, one_line(result.method, 30))}\n")
    text.append("Parameters  ", style="bold")
    text.append(_parameters(result.params) + "\n")
    verdict = {True: ("✔ pass", "green"), False: ("✖ fail", "red"), None: ("- n/a", "dim")}
    text.append(f"\nQuality checks (alpha = {result.alpha:g})\n", style="bold")
    for check in result.quality:
        label, style = verdict[check.passed]
        p_value = f"p = {check.p_value:.4f}" if check.p_value is not None else "p = -"
        text.append(f"  {label:<8}", style=style)
        text.append(f"{check.name:<11}{p_value}")
        if check.note:
            text.append(f"  {one_line(check.note, 60)}", style="dim")
        text.append("\n")
    digits = result.hex
    shown = digits[:MAX_HEX_DIGITS]
    text.append(f"\nHex ({len(shown):,} of {len(digits):,} digits)\n", style="bold")
    line = max(width - 4, 16)
    for start in range(0, len(shown), line):
        text.append(f"  {shown[start : start + line]}\n")
    picture = bit_picture(result.bits[:MAX_PICTURE_BITS], max(width - 4, 8))
    count = min(result.num_bits, MAX_PICTURE_BITS)
    text.append(f"\nBits ({count:,} of {result.num_bits:,}; ▀ top bit, ▄ bottom bit)\n", "bold")
    for row in picture:
        text.append(f"  {row}\n", style="cyan")
    text.append("\ny copies the hex to the clipboard · w saves the bits to a file", style="dim")
    return text


class RandomBitsView(SizedText):
    """Shows an extractor job's result, or why there is none."""

    def show_result(self, result: ExtractorResult) -> None:
        self.draw(lambda width: random_bits_text(result, width=max(width, 30)))
