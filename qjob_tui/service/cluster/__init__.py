"""Running the service's jobs on a Dask cluster (``qjob-tui serve --dask``).

Nothing here imports ``distributed`` at module level: it is an optional extra, needed only
when the service is told to use a cluster.
"""
