"""The Result tab of an estimator job: each observable's expectation value ± standard error."""

from __future__ import annotations

from rich.text import Text

from qjob_tui.results import EstimatorResult

MAX_VALUES = 64  # per pub; the rest is counted, not listed


def _index(index: tuple[int, ...]) -> str:
    return "[" + ",".join(str(i) for i in index) + "]" if index else "[]"


def estimator_text(result: EstimatorResult, width: int = 60) -> Text:
    """Per pub, one line per observable: its index, the value, ± its standard error and a bar
    from -1 to 1 (where the value is a Pauli expectation, the usual case)."""
    text = Text()
    bar_width = max(min(width - 40, 30), 8)
    for number, pub in enumerate(result.pubs):
        shape = "x".join(str(n) for n in pub.shape) or "scalar"
        count = len(pub.values)
        noun = "observable" if count == 1 else "observables"
        text.append(f"pub {number} · {count:,} {noun} · shape {shape}\n", "bold")
        text.append(f"  {'index':<8} {'value':>10}   {'std error':>9}\n", "dim")
        for item in pub.values[:MAX_VALUES]:
            std = f"± {item.std:.4f}" if item.std is not None else "±      -"
            text.append(f"  {_index(item.index):<8} {item.value:>10.4f}   {std:>9} ")
            clamped = max(-1.0, min(1.0, item.value))
            half = bar_width // 2
            cells = round(abs(clamped) * half)
            left = " " * (half - cells) + "█" * cells if clamped < 0 else " " * half
            right = "█" * cells + " " * (half - cells) if clamped >= 0 else " " * half
            text.append(left, style="magenta")
            text.append("│", style="dim")
            text.append(right, style="cyan")
            text.append("\n")
        if count > MAX_VALUES:
            text.append(f"  … and {count - MAX_VALUES:,} more\n", style="dim")
        precision = pub.metadata.get("target_precision")
        shots = pub.metadata.get("shots")
        extra = []
        if isinstance(precision, int | float):
            extra.append(f"target precision {precision:g}")
        if isinstance(shots, int):
            extra.append(f"{shots:,} shots")
        if extra:
            text.append("  " + " · ".join(extra) + "\n", style="dim")
        text.append("\n")
    text.rstrip()
    return text if text.plain else Text("The result holds no pubs.", style="dim")
