"""The Result tab of an executor job whose program no client primitive reads: its arrays."""

from __future__ import annotations

from rich.text import Text

from qjob_tui.results import ExecutorArray, ExecutorResult

MAX_ITEMS = 32  # items listed; the rest are counted
MAX_OUTCOMES = 8  # bitstrings listed per measured array


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape) or "scalar"


def _array_lines(array: ExecutorArray, text: Text) -> None:
    text.append(f"  {array.name} · {array.dtype} · shape {_shape(array.shape)}\n")
    if array.counts is not None:
        total = sum(array.counts.values())
        for outcome, count in array.counts.most_frequent(MAX_OUTCOMES):
            text.append(f"    {outcome} {count:>8,} {100 * count / total:5.1f}%\n")
        if len(array.counts) > MAX_OUTCOMES:
            rest = len(array.counts) - MAX_OUTCOMES
            text.append(f"    … and {rest:,} less frequent bitstrings\n", style="dim")
    elif array.mean is not None:
        text.append(
            f"    min {array.low:.4g} · mean {array.mean:.4g} · max {array.high:.4g}\n", style="dim"
        )


def executor_text(result: ExecutorResult) -> Text:
    """Per item, each array's name, type and shape; bitstring counts of measured bits, and the
    range of numbers, so the program's output can be checked without a script."""
    text = Text()
    role = f" · semantic role {result.semantic_role}" if result.semantic_role else ""
    text.append(f"QuantumProgram result · {len(result.items):,} items{role}\n\n", "bold")
    for number, item in enumerate(result.items[:MAX_ITEMS]):
        text.append(f"item {number} · {len(item.arrays)} arrays\n", "bold")
        for array in item.arrays:
            _array_lines(array, text)
        text.append("\n")
    if len(result.items) > MAX_ITEMS:
        text.append(f"… and {len(result.items) - MAX_ITEMS:,} more items\n", style="dim")
    text.rstrip()
    return text
