"""The detail pane of the selected job: one view per tab."""
