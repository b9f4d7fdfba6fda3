"""Every key of the dashboard, once: the registry of action ids.

Each entry names the action, its keys, the widget or screen that owns it (``Area``), the words
of the footer, the help and the palette. Everything else is derived from here: each owner's
``BINDINGS`` (``bindings``), the ids a ``[keymap]`` may name (``remappable_ids``), the help
screen's rows and the palette's commands. A key that is not in this table cannot exist, so no
binding can be left out of the help, the palette or the keymap check.

The ids are stable names for ``[keymap]`` in config.toml: "app.cancel" stays "app.cancel"
wherever its action lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding, BindingType

Area = Literal[
    "app",
    "dashboard",
    "job_list",
    "session_tree",
    "text_view",
    "confirm_cancel",
    "confirm_session",
    "tag_editor",
    "text_prompt",
    "help",
    "column_chooser",
]

# What an action needs under the cursor: a job, or (cancel, close) a job or a session's row.
Needs = Literal["job", "job or session"]

# The help's headings, in the order it shows them.
AREA_TITLES: dict[Area, str] = {
    "job_list": "Job list",
    "session_tree": "Sessions and batches (z)",
    "dashboard": "Dashboard",
    "app": "Dashboard",
    "text_view": "Log and Raw tabs (in the job's full view, enter)",
    "confirm_cancel": "Dialogs",
    "confirm_session": "Dialogs",
    "tag_editor": "Dialogs",
    "text_prompt": "Dialogs",
    "help": "Dialogs",
    "column_chooser": "Dialogs",
}


@dataclass(frozen=True)
class Action:
    """One bindable action: ``action`` is the Textual action string on the owner (``area``)."""

    id: str
    keys: str
    action: str
    description: str
    area: Area
    help: str = ""  # what the help and the palette say; the description when empty
    palette: str = ""  # the palette's title (the words people type); none when empty
    show: bool = False  # in the footer
    priority: bool = False
    mutating: bool = False  # changes a job or a session: gone with --readonly
    needs: Needs | None = None  # without it under the cursor, the dashboard says so

    @property
    def name(self) -> str:
        """The action's method name, without its arguments: ``show_tab`` of ``show_tab('log')``."""
        return self.action.split("(")[0]

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            tooltip=self.help,
            id=self.id,
        )


_FILTER_HELP = "filter the list: text or re:regex over id, name, tags, backend, status; ! inverts"
_CANCEL_HELP = "cancel the selected job, or every marked one (asks first)"
_PALETTE_HELP = "command palette: every action by name, themes"

# The detail pane's tabs, in order: (tab id, title). Keys 1..7 select them.
TABS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("timeline", "Timeline"),
    ("result", "Result"),
    ("circuit", "Circuit"),
    ("bits", "Random bits"),
    ("log", "Log"),
    ("raw", "Raw"),
)

_TAB_ACTIONS = tuple(
    Action(
        f"detail.tab_{tab}",
        str(number),
        f"select_tab('{tab}')",
        title,
        "dashboard",
        help=f"the {title} tab of the job",
        palette=f"Tab {number}: {title}",
        needs="job",
    )
    for number, (tab, title) in enumerate(TABS, start=1)
)

ACTIONS: tuple[Action, ...] = (
    # --- the dashboard: keys that work whichever pane has the focus ------------------------
    Action("app.quit", "q", "quit", "Quit", "app", palette="Quit", show=True),
    Action("app.help", "question_mark", "help", "Help", "dashboard", palette="Help: every key",
           show=True),
    Action("app.filter", "slash", "filter", "Filter", "dashboard", help=_FILTER_HELP,
           palette="Filter the list", show=True),
    # Both keys: Textual adds its own ctrl+p only when no binding opens the palette, so
    # binding ":" alone left ctrl+p doing nothing (in tmux, screen, xterm alike).
    Action("app.commands", "colon", "command_palette", "Commands", "app", help=_PALETTE_HELP),
    Action("app.palette", "ctrl+p", "command_palette", "Commands", "app", help=_PALETTE_HELP,
           priority=True),
    Action("app.cancel", "c", "cancel", "Cancel", "dashboard", help=_CANCEL_HELP,
           palette="Cancel jobs (the marked ones, or the selected one)", show=True,
           mutating=True, needs="job or session"),
    Action("app.tags", "t", "tags", "Tags", "dashboard", help="edit the tags of the selected job",
           palette="Edit tags of the selected job", show=True, mutating=True, needs="job"),
    Action("app.rename", "n", "rename", "Rename", "dashboard", help="rename the selected job",
           palette="Rename the selected job", mutating=True, needs="job"),
    Action("app.refresh", "r", "refresh", "Refresh", "dashboard", help="poll every source now",
           palette="Refresh now"),
    Action("app.pause", "p", "pause", "Pause", "dashboard", help="pause or resume polling",
           palette="Pause or resume polling"),
    Action("app.export", "e", "export", "Export", "dashboard",
           help="save the visible rows as CSV or JSON in the downloads folder",
           palette="Export the visible rows (CSV or JSON)"),
    Action("app.only_active", "a", "status_filter('active')", "Active", "dashboard",
           help="show only queued and running jobs (again: all)",
           palette="Only active jobs (queued and running)"),
    Action("app.only_failed", "f", "status_filter('failed')", "Failed", "dashboard",
           help="show only failed jobs (again: all)", palette="Only failed jobs"),
    Action("app.only_mine", "m", "only_mine", "Only mine", "dashboard",
           help="show only the jobs the account submitted, where the server says (again: all)",
           palette="Only my jobs"),
    Action("app.toggle_queue", "b", "toggle_queue", "Backends", "dashboard",
           help="show or hide the backends pane (narrow terminals: instead of the details)",
           palette="Backends pane: show or hide"),
    Action("dashboard.close_job", "escape", "close_job", "Back", "dashboard",
           help="from a job's full view, back to the list (the cursor where it was)",
           palette="Back to the list", show=True),
    Action("app.clear_filter", "escape", "clear_filter", "Clear filter", "dashboard",
           help="clear the text filter (with none set: unmark all)", palette="Clear the filter"),
    *_TAB_ACTIONS,
    Action("app.log", "l", "show_tab('log')", "Log", "dashboard",
           help="the job's log, followed while it runs (again: the Overview)",
           palette="Log of the selected job", needs="job"),
    Action("app.raw", "v", "show_tab('raw')", "Raw", "dashboard",
           help="the job and its metrics as the server sent them (JSON, secrets masked)",
           palette="Raw JSON of the selected job", needs="job"),
    Action("app.columns", "o", "columns", "Columns", "dashboard",
           help="choose the job list's columns (kept in config.toml)",
           palette="Columns: choose which the list shows"),
    Action("app.extract", "x", "extract", "Extract random bits", "dashboard",
           help="extract random bits from the selected finished sampler job",
           palette="Extract random bits from the selected sampler job", mutating=True,
           needs="job"),
    Action("app.copy", "y", "copy", "Copy id", "dashboard",
           help="copy the job's id (on the Random bits tab: the bits) to the clipboard",
           palette="Copy the job id", needs="job"),
    Action("app.open_page", "O", "open_page", "Open in browser", "dashboard",
           help="open the job's page on IBM Quantum Platform (or show its address)",
           palette="Open the job's page on IBM Quantum Platform", needs="job"),
    Action("app.group", "z", "group", "Sessions", "dashboard",
           help="group the jobs by session or batch (again: the plain list)",
           palette="Group by session or batch"),
    Action("app.close_session", "C", "close_session", "Close session", "dashboard",
           help="close the selected session or batch: it accepts no new jobs (asks first)",
           palette="Close the selected session", mutating=True,
           needs="job or session"),
    Action("app.save_bits", "w", "save_bits", "Save random bits", "dashboard",
           help="save the random bits shown to a file in the downloads folder",
           palette="Save random bits to a file", needs="job"),
    # --- the job list ------------------------------------------------------------------------
    Action("job_list.cursor_down", "j,down", "cursor_down", "Down", "job_list"),
    Action("job_list.cursor_up", "k,up", "cursor_up", "Up", "job_list"),
    Action("job_list.cursor_first", "g,home", "cursor_first", "First", "job_list",
           help="the first job (the newest: the list follows new arrivals from there)",
           palette="Go to the first job"),
    Action("job_list.cursor_last", "G,end", "cursor_last", "Last", "job_list",
           palette="Go to the last job"),
    Action("job_list.page_up", "pageup", "cursor_page_up", "Page up", "job_list"),
    Action("job_list.page_down", "pagedown", "cursor_page_down", "Page down", "job_list"),
    # It steps down after marking (htop's and mc's habit): space, space marks two in a row.
    Action("job_list.toggle_mark", "space", "toggle_mark", "Mark ↓", "job_list",
           help="mark or unmark the job, then move to the next one",
           palette="Mark or unmark the selected job, then move to the next", show=True),
    Action("job_list.mark_all", "ctrl+a", "mark_all", "Mark all", "job_list",
           help="mark every job the list shows", palette="Mark all visible jobs"),
    Action("job_list.clear_marks", "u", "clear_marks", "Unmark all", "job_list",
           help="unmark every job (escape too, when no filter is set)",
           palette="Unmark all jobs"),
    Action("job_list.cycle_sort", "s", "cycle_sort", "Sort", "job_list",
           help="sort by the next column", palette="Sort by the next column", show=True),
    Action("job_list.reverse_sort", "S", "reverse_sort", "Reverse", "job_list",
           help="reverse the sort order", palette="Sort in reverse order"),
    Action("job_list.select", "enter", "select", "Open", "job_list",
           help="open the job full screen: all its tabs, with room (escape: back)",
           palette="Open the selected job full screen", needs="job"),
    # --- the grouped view --------------------------------------------------------------------
    Action("session_tree.cursor_down", "j,down", "cursor_down", "Down", "session_tree"),
    Action("session_tree.cursor_up", "k,up", "cursor_up", "Up", "session_tree"),
    Action("session_tree.first", "g,home", "scroll_home", "First", "session_tree",
           help="the first row"),
    Action("session_tree.last", "G,end", "scroll_end", "Last", "session_tree",
           help="the last row"),
    Action("session_tree.fold", "space", "toggle_node", "Fold", "session_tree",
           help="fold or unfold the group under the cursor"),
    Action("session_tree.open", "enter", "select_cursor", "Open", "session_tree",
           help="on a job: open it full screen; on a group: fold or unfold it"),
    # --- the Log and Raw tabs, when they have the focus --------------------------------------
    Action("text_view.down", "j,down", "scroll_text('down')", "Down", "text_view"),
    Action("text_view.up", "k,up", "scroll_text('up')", "Up", "text_view"),
    Action("text_view.page_down", "pagedown,space", "scroll_text('page_down')", "Page down",
           "text_view"),
    Action("text_view.page_up", "pageup", "scroll_text('page_up')", "Page up", "text_view"),
    Action("text_view.top", "g,home", "scroll_text('home')", "Top", "text_view"),
    Action("text_view.bottom", "G,end", "scroll_text('end')", "Bottom", "text_view",
           help="the end (a running job's log is followed from there)"),
    Action("text_view.search", "slash", "search", "Search", "text_view",
           help="search the text (a regular expression when it is valid)", show=True),
    Action("text_view.next", "n", "next_match", "Next", "text_view",
           help="the next match (after the last: the first)"),
    Action("text_view.previous", "N", "previous_match", "Previous", "text_view",
           help="the previous match (before the first: the last)"),
    Action("text_view.wrap", "w", "toggle_wrap", "Wrap", "text_view",
           help="wrap long lines, or not (elsewhere w saves the random bits)", show=True),
    # --- dialogs -----------------------------------------------------------------------------
    Action("confirm_cancel.no", "escape,n", "answer(False)", "No", "confirm_cancel"),
    Action("confirm_cancel.yes", "y", "answer(True)", "Yes", "confirm_cancel"),
    Action("confirm_cancel.switch", "left,right,h,l,tab", "app.focus_next", "Switch",
           "confirm_cancel", help="the other button"),
    Action("confirm_session.no", "escape,n", "answer(False)", "No", "confirm_session"),
    Action("confirm_session.yes", "y", "answer(True)", "Yes", "confirm_session"),
    Action("confirm_session.switch", "left,right,h,l,tab", "app.focus_next", "Switch",
           "confirm_session", help="the other button"),
    Action("tag_editor.cancel", "escape", "cancel", "Cancel", "tag_editor"),
    Action("tag_editor.save", "ctrl+s", "save", "Save", "tag_editor"),
    Action("tag_editor.remove", "delete,x", "remove", "Remove tag", "tag_editor"),
    Action("prompt.cancel", "escape", "cancel", "Cancel", "text_prompt"),
    Action("help.close", "escape,q,question_mark", "dismiss_help", "Close", "help"),
    Action("column_chooser.cancel", "escape", "cancel", "Cancel", "column_chooser"),
    Action("column_chooser.save", "enter,ctrl+s", "save", "Save", "column_chooser",
           priority=True),
)  # fmt: skip

BY_ID: dict[str, Action] = {action.id: action for action in ACTIONS}
assert len(BY_ID) == len(ACTIONS), "two actions share an id"

# The action names that change a job or a session, for ``check_action`` under --readonly.
MUTATING: frozenset[str] = frozenset(action.name for action in ACTIONS if action.mutating)

# What each owner's action needs under the cursor, by (owner, action string as bound).
NEEDS: dict[tuple[Area, str], Needs] = {
    (action.area, action.action): action.needs for action in ACTIONS if action.needs
}

# The areas of the dashboard itself (the help lists them; the dialogs show their own keys).
DASHBOARD_AREAS: tuple[Area, ...] = ("dashboard", "app", "job_list", "session_tree", "text_view")


def bindings(area: Area) -> list[BindingType]:
    """The ``BINDINGS`` of one owner, in the registry's order."""
    return [action.binding() for action in ACTIONS if action.area == area]


def remappable_ids() -> frozenset[str]:
    """Every binding id: what a ``[keymap]`` may name."""
    return frozenset(BY_ID)
