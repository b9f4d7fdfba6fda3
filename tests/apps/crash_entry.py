"""Run ``qjob-tui`` with one function replaced by one that fails, for the crash tests.

``python -m tests.apps.crash_entry MODULE:ATTR ARGS...`` replaces ``MODULE.ATTR`` (a function or
method, ``module:Class.method``) by one that raises with the service token in its message and in
a local variable, then runs ``qjob-tui ARGS...`` as the console script does.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# Read at start: the service takes its secrets out of the environment once it has them.
TOKEN = os.environ.get("QJOB_TUI_SERVICE_TOKEN", "")


def _fail(*args: Any, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    raise RuntimeError(f"planted failure, sent with {headers}")


def main() -> int:
    target, *argv = sys.argv[1:]
    module_name, _, attr = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    setattr(owner, name, _fail)
    from qjob_tui.cli.main import main as qjob_main

    return qjob_main(argv)


if __name__ == "__main__":
    sys.exit(main())
