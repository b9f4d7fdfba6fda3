"""``qjob-tui relay --ssh PORT``: an SSH server in which each session is a dashboard.

Nothing else: no shell, no exec, no port or agent forwarding, no passwords. Each session's
dashboard is its own process, in a pseudo-terminal of the client's size and TERM, watching the
relay; viewers' dashboards are read-only, operators' may act.
"""
