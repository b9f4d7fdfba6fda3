"""``qjob-tui relay``: one store watching the sources, served to many viewers.

The relay polls (or listens to) each upstream once, with one ``JobStore``, and serves what the
store holds through the same REST API v1, one prefix per source (``/sources/{name}/api/v1``),
with a push stream of changes. Reads never reach upstream; actions go through the store.
"""
