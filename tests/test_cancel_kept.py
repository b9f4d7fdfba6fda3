"""A cancel that comes with an answer is not lost: the package awaits with a deadline through
``asyncio.timeout``, never ``asyncio.wait_for``.

On Python 3.11, ``wait_for`` returns the awaited result, and drops the cancel, when the cancel
arrives in the same turn of the loop as the result (bpo-42130, fixed in 3.12). A Ctrl-C is such a
cancel: ``ls --watch`` cancelled while its first identity request was answering kept watching for
good. The scan below holds the rule (it reads ``asyncio.wait_for`` as the package spells it); the
race itself is shown for each way of waiting, so that the rule's reason stays visible.
"""

from __future__ import annotations

import ast
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qjob_tui"


def wait_fors(source: str) -> list[int]:
    """Lines of ``source`` that call ``asyncio.wait_for`` or import ``wait_for``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        called = (
            isinstance(node, ast.Attribute)
            and node.attr == "wait_for"
            and isinstance(node.value, ast.Name)
            and node.value.id == "asyncio"
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "asyncio"
            and any(alias.name == "wait_for" for alias in node.names)
        )
        if called or imported:
            lines.append(node.lineno)
    return lines


def test_the_package_never_waits_with_wait_for() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in wait_fors(path.read_text())
    ]
    assert found == []


def test_the_scan_finds_both_spellings() -> None:
    source = "import asyncio\nfrom asyncio import wait_for\nasyncio.wait_for(x, 1)\n"
    assert wait_fors(source) == [2, 3]


async def _with_timeout(answer: Awaitable[str]) -> str:
    async with asyncio.timeout(10):
        return await answer


async def _with_wait_for(answer: Awaitable[str]) -> str:
    return await asyncio.wait_for(answer, 10)


async def _cancelled_as_answered(wait: Callable[[Awaitable[str]], Awaitable[str]]) -> bool:
    """Cancel a waiting task in the same turn its answer arrives; True if the cancel held."""
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait(answer))
    await asyncio.sleep(0)  # the task now waits
    answer.set_result("identity")
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False


def test_a_timeout_keeps_a_cancel_that_comes_with_the_answer() -> None:
    assert asyncio.run(_cancelled_as_answered(_with_timeout))


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for keeps the cancel since 3.12")
def test_wait_for_loses_that_cancel_on_this_python() -> None:
    assert not asyncio.run(_cancelled_as_answered(_with_wait_for))
