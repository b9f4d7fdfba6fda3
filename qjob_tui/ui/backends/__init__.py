"""The backends pane: queues, sparklines, the selected job's place in its queue."""
