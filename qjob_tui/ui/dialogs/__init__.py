"""Modal dialogs: confirm a cancel, edit tags, rename, export, help."""
