"""The Textual dashboard: the job list, detail and queue panes, dialogs and the app."""
