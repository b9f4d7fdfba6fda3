"""Edit a job's tags: add, remove, and see the 8 x 86 limits before anything is sent."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from qjob_tui.model import MAX_TAG_LENGTH, MAX_TAGS, tag_problem
from qjob_tui.text import clean
from qjob_tui.ui.actions import bindings


class TagEditor(ModalScreen[list[str] | None]):
    """Dismisses with the new list of tags, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("tag_editor")

    def __init__(self, job_id: str, tags: tuple[str, ...]) -> None:
        super().__init__()
        self.job_id = job_id
        self.tags = list(tags)
        self._highlight = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Tags of {self.job_id}", id="title")
            yield OptionList(id="tags")
            yield Input(
                placeholder=f"new tag, enter to add (at most {MAX_TAG_LENGTH} characters)",
                id="new-tag",
                max_length=MAX_TAG_LENGTH + 1,
            )
            yield Static("", id="limits")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self._refresh()
        self.query_one("#new-tag", Input).focus()

    def _refresh(self, problem: str | None = None) -> None:
        options = self.query_one("#tags", OptionList)
        options.clear_options()
        if self.tags:
            options.add_options([Option(clean(tag)) for tag in self.tags])
            options.highlighted = min(self._highlight, len(self.tags) - 1)
        else:
            options.add_option(Option("(no tags)", disabled=True))
        limits = self.query_one("#limits", Static)
        text = (
            f"{len(self.tags)}/{MAX_TAGS} tags, each at most {MAX_TAG_LENGTH} characters\n"
            "x or delete removes the highlighted tag · ctrl+s saves"
        )
        # A Static wraps (a Label would cut): a refused long tag is quoted in full.
        limits.update(Text(f"✖ {problem}") if problem else Text(text))
        limits.set_class(problem is not None, "error")

    @on(Input.Submitted, "#new-tag")
    def add_tag(self, event: Input.Submitted) -> None:
        tag = event.value.strip()
        if not tag:
            return
        if tag in self.tags:
            self._refresh(f"{tag!r} is already there")
            return
        problem = tag_problem([*self.tags, tag])
        if problem is not None:
            self._refresh(problem)
            return
        self.tags.append(tag)
        event.input.value = ""
        self._refresh()

    def action_remove(self) -> None:
        options = self.query_one("#tags", OptionList)
        if options.has_focus and options.highlighted is not None and self.tags:
            del self.tags[options.highlighted]
            self._highlight = options.highlighted
            self._refresh()

    def action_save(self) -> None:
        problem = tag_problem(self.tags)
        if problem is not None:
            self._refresh(problem)
            return
        self.dismiss(list(self.tags))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)
