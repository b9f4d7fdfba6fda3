"""Write ``screenshots/<screen>.svg`` of every screen of the dashboard, for the README.

    python scripts/screenshots.py            # every screen (``make screenshots``)
    python scripts/screenshots.py main help  # only these

The screens are the snapshot tests' (``tests/apps/dashboard_app.py``: fixed jobs, backends and
clock, no network), at 120x40 unless a shot asks for 80x24; the main screen at both. The same
state gives the same bytes, so the files change only when the interface does.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
WIDE = (120, 40)
NARROW = (80, 24)

# Colour settings of the shell must not leak into the pictures (as in the snapshot tests).
_RENDERING_ENV = (
    "NO_COLOR",
    "FORCE_COLOR",
    "COLORTERM",
    "TEXTUAL_THEME",
    "TEXTUAL_COLOR_SYSTEM",
    "TEXTUAL_ANIMATIONS",
    "TEXTUAL_DIM_FACTOR",
    "TEXTUAL_PRESS",
    "TEXTUAL_SCREENSHOT",
)
for _name in _RENDERING_ENV:  # before Textual is imported: it reads some of them at import
    os.environ.pop(_name, None)
sys.path.insert(0, str(ROOT))

from tests.apps.dashboard_app import SHOTS, Shot, make_app  # noqa: E402


def wanted() -> list[tuple[Shot, tuple[int, int], str]]:
    """(shot, size, file name) for every picture: each shot wide, the main screen narrow too."""
    pictures = [
        (shot, NARROW if shot.narrow_screenshot else WIDE, f"{shot.name}.svg") for shot in SHOTS
    ]
    main = next(shot for shot in SHOTS if shot.name == "main")
    pictures.insert(1, (main, NARROW, "main-80x24.svg"))
    return pictures


async def take(shot: Shot, size: tuple[int, int], filename: str) -> Path:
    app = make_app(readonly=shot.readonly, size_hint=size, variant=shot.variant)
    async with app.run_test(size=size) as pilot:
        await shot.prepare(pilot)
        return Path(app.save_screenshot(filename, str(OUT)))


async def main(names: list[str]) -> int:
    pictures = wanted()
    known = {shot.name for shot, _, _ in pictures}
    unknown = sorted(set(names) - known)
    if unknown:
        print(f"unknown screen(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return 2
    OUT.mkdir(exist_ok=True)
    for shot, size, filename in pictures:
        if names and shot.name not in names:
            continue
        path = await take(shot, size, filename)
        print(f"{path.relative_to(ROOT)}  {size[0]}x{size[1]}  {shot.about}")
    if not names:
        stale = sorted(p.name for p in OUT.glob("*.svg") if p.name not in {f for *_, f in pictures})
        if stale:
            print(f"not made by this script (stale?): {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
