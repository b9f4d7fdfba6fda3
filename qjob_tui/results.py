"""What a finished job returned: sampler counts, estimator values, an executor's arrays, an
extractor's bits, as plain frozen values.

Apart from ``model.py`` because only a shown, cached or decoded result needs them: the
dashboard paints its job list without importing them (their generated dataclass methods were
about 30 M instructions of its start). Like ``model.py``, nothing here does I/O or imports the
rest of the project.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


class Counts(Mapping[str, int]):
    """Outcome counts of one classical register: bitstring (MSB first) to number of shots.

    Immutable, ordered most frequent first, so the first outcomes are the ones worth showing.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, int] | None = None) -> None:
        items = sorted((data or {}).items(), key=lambda kv: (-kv[1], kv[0]))
        self._data: dict[str, int] = dict(items)

    def __getitem__(self, key: str) -> int:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Counts({self._data!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    @property
    def shots(self) -> int:
        """The total number of shots counted."""
        return sum(self._data.values())

    def most_frequent(self, n: int = 1) -> list[tuple[str, int]]:
        """The n most frequent outcomes with their counts."""
        return list(self._data.items())[:n]


@dataclass(frozen=True)
class RegisterResult:
    """The measured outcomes of one classical register over all shots of a pub."""

    name: str
    num_bits: int
    counts: Counts
    bitstrings: tuple[str, ...] = ()

    @property
    def shots(self) -> int:
        return self.counts.shots


@dataclass(frozen=True)
class PubResult:
    """The result of one pub (circuit, parameter values, shots) of a sampler job."""

    registers: tuple[RegisterResult, ...]
    metadata: Mapping[str, object] = field(default_factory=dict)

    def register(self, name: str) -> RegisterResult:
        for reg in self.registers:
            if reg.name == name:
                return reg
        raise KeyError(name)


@dataclass(frozen=True)
class JobResult:
    """A sampler job's whole result: one PubResult per submitted pub."""

    pubs: tuple[PubResult, ...]
    metadata: Mapping[str, object] = field(default_factory=dict)


# --- extracted random bits -------------------------------------------------------------------

ALPHA = 0.01
"""Significance level of the quality checks: a p-value below it fails the check (SP 800-22)."""


@dataclass(frozen=True)
class CheckResult:
    """One quality check: ``p_value``/``passed`` are None when the check does not apply."""

    name: str
    statistic: float
    p_value: float | None
    passed: bool | None
    note: str = ""


@dataclass(frozen=True, eq=False)
class ExtractorResult:
    """The bits an extractor job produced and how, as the service reported them.

    ``bits`` is a read-only uint8 array of 0/1 (ext1's output first, then ext2's);
    ``params`` the parameters used (``ext1_input_num_bits``, ``raw_job``, ``inputs`` ...);
    ``quality`` the service's bias, frequency and runs checks of the bits. numpy is imported
    only by the methods that need it, so the dashboard can name this class without it.
    """

    bits: NDArray[np.uint8]
    num_bits: int
    method: str
    params: Mapping[str, Any]
    quality: tuple[CheckResult, ...]
    alpha: float = ALPHA

    def to_list(self) -> list[int]:
        """The bits as a list of 0/1 ints, what ``CQCExtractorJob.block_until_ready`` gave."""
        return [int(bit) for bit in self.bits]

    def to_bytes(self) -> bytes:
        """The bits packed LSB first in each byte, as the old service's result bytes."""
        import numpy as np

        return np.packbits(np.asarray(self.bits, dtype=np.uint8), bitorder="little").tobytes()

    @property
    def hex(self) -> str:
        """Two hex digits per packed byte (first bit = least significant bit of the first)."""
        return self.to_bytes().hex()

    @property
    def inputs(self) -> Mapping[str, str]:
        """Where each input came from: ``params``, ``generated``, ``raw_job`` or ``ext1_output``."""
        value = self.params.get("inputs")
        return value if isinstance(value, Mapping) else MappingProxyType({})

    @property
    def passed(self) -> bool | None:
        """False if any quality check failed, None if none applied, else True."""
        verdicts = [check.passed for check in self.quality if check.passed is not None]
        if not verdicts:
            return None
        return all(verdicts)


@dataclass(frozen=True)
class Expectation:
    """One observable's estimate: its index in the pub's (broadcast) shape, value and error."""

    index: tuple[int, ...]
    value: float
    std: float | None = None


@dataclass(frozen=True)
class EstimatorPubResult:
    """The expectation values of one pub of an estimator job, in its shape's order."""

    shape: tuple[int, ...]
    values: tuple[Expectation, ...]
    metadata: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class EstimatorResult:
    """An estimator job's whole result: one EstimatorPubResult per submitted pub."""

    pubs: tuple[EstimatorPubResult, ...]
    metadata: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutorArray:
    """One named array of a QuantumProgram item's result, summarized for a screen.

    A boolean array whose last axis is the classical bits (measurements) is summarized by
    ``counts``: bitstrings (bit 0 rightmost, as Qiskit writes them) over all its other axes.
    A numeric one by its range and mean.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    counts: Counts | None = None
    low: float | None = None
    mean: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ExecutorItemResult:
    """The arrays one item (circuit or samplex) of a QuantumProgram produced."""

    arrays: tuple[ExecutorArray, ...]


@dataclass(frozen=True)
class ExecutorResult:
    """An executor job's raw QuantumProgram result, for programs no client primitive reads."""

    items: tuple[ExecutorItemResult, ...]
    semantic_role: str | None = None
