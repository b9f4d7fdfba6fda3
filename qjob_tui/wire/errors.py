"""The one error of the wire format: a message and a fix a person can act on, and which part."""

from __future__ import annotations

from enum import StrEnum


class Part(StrEnum):
    """What was wrong; the service picks its reason code by it."""

    PARAMS = "params"
    CIRCUIT = "circuit"
    VALUES = "parameter values"
    RESULT = "result"


class WireError(ValueError):
    """Runtime JSON that cannot be read or written; ``message`` is one line, safe to show."""

    def __init__(self, message: str, solution: str = "", part: Part = Part.PARAMS) -> None:
        super().__init__(message)
        self.message = message
        self.solution = solution
        self.part = part


class ParamsDecodeError(WireError):
    """A job's params hold no circuits or values that can be read."""


class ResultDecodeError(WireError):
    """A job's result text is not a result that can be read."""

    def __init__(self, message: str, solution: str = "") -> None:
        super().__init__(message, solution, Part.RESULT)
