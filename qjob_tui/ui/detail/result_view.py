"""The Result tab: counts per classical register as a histogram, most likely outcomes first."""

from __future__ import annotations

from rich.text import Text

from qjob_tui.results import EstimatorResult, ExecutorResult, JobResult
from qjob_tui.text import counted
from qjob_tui.ui.detail.estimator_view import estimator_text
from qjob_tui.ui.detail.executor_view import executor_text
from qjob_tui.ui.sized_text import SizedText

MAX_OUTCOMES = 16


def result_text(result: JobResult, width: int = 60) -> Text:
    text = Text()
    for index, pub in enumerate(result.pubs):
        for register in pub.registers:
            shots = register.counts.shots
            bits = counted(register.num_bits, "bit")
            header = f"pub {index} · register {register.name} · {bits} · "
            text.append(header + f"{shots:,} shots · {len(register.counts):,} outcomes\n", "bold")
            top = register.counts.most_frequent(MAX_OUTCOMES)
            label_width = max((len(outcome) for outcome, _ in top), default=1)
            label_width = min(label_width, max(width // 3, 8))
            bar_width = max(width - label_width - 18, 8)
            peak = top[0][1] if top else 1
            for outcome, count in top:
                label = outcome if len(outcome) <= label_width else outcome[: label_width - 1] + "…"
                cells = max(1, round(bar_width * count / peak))
                text.append(f"  {label:>{label_width}} ")
                text.append("█" * cells, style="cyan")
                text.append(" " * (bar_width - cells))
                text.append(f" {count:>7,} {100 * count / shots:5.1f}%\n")
            if len(register.counts) > MAX_OUTCOMES:
                rest = len(register.counts) - MAX_OUTCOMES
                text.append(f"  … and {rest:,} less likely outcomes\n", style="dim")
            text.append("\n")
    text.rstrip()
    return text if text.plain else Text("The result holds no registers.", style="dim")


class ResultView(SizedText):
    """Shows a job's counts, or why there are none."""

    def show_result(self, result: JobResult) -> None:
        self.draw(lambda width: result_text(result, width=max(width, 30)))

    def show_estimates(self, result: EstimatorResult) -> None:
        self.draw(lambda width: estimator_text(result, width=max(width, 30)))

    def show_executor(self, result: JobResult | EstimatorResult | ExecutorResult) -> None:
        """An executor job's result: drawn as its client-side primitive's where it has one."""
        if isinstance(result, JobResult):
            self.show_result(result)
        elif isinstance(result, EstimatorResult):
            self.show_estimates(result)
        else:
            self.draw(lambda width: executor_text(result))
