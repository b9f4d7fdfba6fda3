"""Whether a job service answers at a URL: the one HTTP call made before any client exists."""

from __future__ import annotations


def answers(url: str, timeout: float = 0.5) -> bool:
    """True if a job service answers at ``url`` (…/api/v1): ``GET /backends`` gives 200 or 401."""
    import httpx  # here: importing this module (the dashboard does) must not cost httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/backends", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code in (200, 401)
