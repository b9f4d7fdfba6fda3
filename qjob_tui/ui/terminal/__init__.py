"""What the dashboard does about its terminal: the hang-up watchdog, cell-exact repaints, hooks
that must never touch the terminal."""
