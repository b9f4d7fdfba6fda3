"""The Circuit tab: the text diagrams of the job's circuits, drawn off the event loop."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class CircuitView(Static):
    """Shows circuit diagrams as plain text (they come from Qiskit, not from the server)."""

    def show_diagrams(self, diagrams: list[str]) -> None:
        text = Text(no_wrap=True)
        for index, diagram in enumerate(diagrams):
            text.append(f"circuit {index}\n", style="bold")
            text.append(diagram + "\n\n")
        text.rstrip()
        self.update(text)

    def show_message(self, message: str) -> None:
        self.update(Text(message, style="dim"))
