"""Run a Textual program and end it the moment its terminal output first holds a given text.

``python bench/exit_at_row.py TEXT SCRIPT [ARGS...]`` or ``... TEXT -m MODULE [ARGS...]``: the
program runs as usual until it hands Textual's driver the output that holds TEXT (the newest
job's id, the floor's last row); then the process ends at once. ``startup_instructions.py`` counts
the instructions a start costs up to that point with it. Not a benchmark itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
from types import ModuleType

TEXT = sys.argv[1]


def _end_at_text(module: ModuleType) -> None:
    driver = module.LinuxDriver
    write = driver.write

    def write_then_end(self: object, data: str) -> None:
        write(self, data)
        if TEXT in data:
            os._exit(0)

    driver.write = write_then_end


class _Hook(importlib.abc.MetaPathFinder):
    """Patches Textual's Linux driver as it is imported, where the program imports it."""

    def find_spec(self, name: str, path: object, target: object = None) -> object:
        if name != "textual.drivers.linux_driver":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        assert spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader)
        exec_module = spec.loader.exec_module

        def patched(module: ModuleType) -> None:
            exec_module(module)
            _end_at_text(module)

        spec.loader.exec_module = patched  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _Hook())
if sys.argv[2] == "-m":
    module_name = sys.argv[3]
    sys.argv = sys.argv[3:]
    runpy.run_module(module_name, run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[2:]
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
    runpy.run_path(sys.argv[0], run_name="__main__")
