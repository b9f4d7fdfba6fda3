"""The jobs grouped by session or batch (``z``)."""
