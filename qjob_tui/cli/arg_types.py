"""The command line's number types, one of each, for every subcommand's parser: a bad value is
refused by argparse with one line and exit code 2, nan and inf included."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    """A whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0: {text!r}")
    return value


def request_timeout(text: str) -> float:
    """Seconds a request waits for an answer: above 0, at most an hour (as
    ``$QJOB_TUI_TIMEOUT``); a longer wait would only hide a server that stopped answering."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise argparse.ArgumentTypeError(
            f"a request timeout is above 0 and at most 3600 s: {text!r}"
        )
    return value


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, not {value}")
    return value


def refresh(text: str) -> float:
    """A poll interval: 0.2 to 3600 seconds (one message for every value out of range)."""
    rule = "the refresh interval is 0.2 to 3600 seconds"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}; {rule}") from None
    if not 0.2 <= value <= 3600:  # NaN too
        raise argparse.ArgumentTypeError(f"{rule}, not {text!r}")
    return value
