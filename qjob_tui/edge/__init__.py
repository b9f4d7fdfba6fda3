"""The guarded edge every door of qjob-tui shares: the service and the relay listen, frame and
throttle wrong credentials the same way. It knows no other part of the project."""
