"""``--refresh``: every value out of range gets the same message, naming the range."""

from __future__ import annotations

import argparse

import pytest

from qjob_tui.cli.arg_types import refresh


@pytest.mark.parametrize("text", ["-1", "0", "0.1", "3601", "nan", "inf", "-inf"])
def test_every_value_out_of_range_names_the_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        refresh(text)
    assert str(refused.value) == f"the refresh interval is 0.2 to 3600 seconds, not {text!r}"


def test_a_word_is_not_a_number() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a number: 'soon'; the refresh"):
        refresh("soon")


@pytest.mark.parametrize(("text", "value"), [("0.2", 0.2), ("2", 2.0), ("3600", 3600.0)])
def test_values_in_range(text: str, value: float) -> None:
    assert refresh(text) == value
