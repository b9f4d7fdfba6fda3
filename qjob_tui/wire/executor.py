"""The ``executor`` program's wire format: a QuantumProgram's params in, its result out.

qiskit-ibm-runtime's ``Executor`` (and so its client-side ``executor_sampler`` and
``executor_estimator``) sends the params of ``QUANTUM_PROGRAM_PARAMS_CONVERTERS[schema].encoder``:
a pydantic model from ``ibm_quantum_schemas``. The client's own converters decode them here; the
result goes back as the ``QuantumProgramResultModel`` of the same schema version that the
client's ``ExecutorResultDecoder`` reads, with the program's passthrough data and semantic role
echoed so that the client-side primitives can post-process it.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qjob_tui.wire.safe_decode import WireError, check_compressed, containers, load_object

# The schema versions whose params and results this module reads and writes.
RESULT_SCHEMA = "v2.0"


@dataclass(frozen=True, eq=False)
class ExecutorTask:
    """Decoded executor params: the QuantumProgram, its ExecutorOptions and the raw model."""

    program: Any
    options: Any
    schema_version: str

    def shots(self) -> int:
        """Shots the program takes: its shots for each element of each item's shape."""
        total = 0
        for item in self.program.items:
            shape = getattr(item, "shape", ()) or ()
            total += self.program.shots * max(math.prod(shape), 1)
        return total


# Fields of ibm_quantum_schemas models that hold base64 of zlib data (tensors, QPY).
_PAYLOAD_KEYS = frozenset({"data", "b64_data"})


def check_payloads(value: object) -> None:
    """Cap the decompressed size of every zlib payload before the converters inflate them."""
    for item in containers(value):
        for key, child in item.items():
            if key not in _PAYLOAD_KEYS or not isinstance(child, str):
                continue
            try:
                head = base64.b64decode(child[:8] + "=" * (-len(child[:8]) % 4))
            except (binascii.Error, ValueError):
                continue  # not base64: the schema check says so
            if head[:1] == b"\x78":  # a zlib stream
                check_compressed(child, key)


def parse_executor_params(text: str) -> ExecutorTask:
    """The QuantumProgram of an executor job, via qiskit-ibm-runtime's params converters."""
    plain = load_object(text)
    check_payloads(plain)
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    version = plain.get("schema_version")
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS.get(version) if isinstance(version, str) else None
    if converter is None:
        raise WireError(
            f"unknown executor schema_version {str(version)[:20]!r}",
            f"Send one of {sorted(QUANTUM_PROGRAM_PARAMS_CONVERTERS)}, as qiskit-ibm-runtime's "
            "Executor does.",
        )
    from pydantic import ValidationError

    try:
        model = converter.model.model_validate(plain)
        program, options = converter.decoder(model)
        for item in program.items:
            samplex = getattr(item, "samplex", None)
            if samplex is not None and not getattr(samplex, "_finalized", True):
                samplex.finalize()  # decoded samplexes come unfinalized; the runner needs them
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise WireError(
            f"the executor params do not match schema {version}: {where}: "
            f"{str(first.get('msg', exc))[:200]}",
            "Build the params with qiskit-ibm-runtime's Executor and QuantumProgram.",
        ) from None
    except Exception as exc:  # the converters raise what their parts raise
        raise WireError(
            f"the executor params do not decode: {type(exc).__name__}: {str(exc)[:200]}",
            "Build the params with qiskit-ibm-runtime's Executor and QuantumProgram.",
        ) from None
    return ExecutorTask(program=program, options=options, schema_version=version)


def encode_executor_result(result: Any, program: Any, started: datetime, stopped: datetime) -> str:
    """A QuantumProgramResult as the JSON of ``QuantumProgramResultModel`` (schema v2.0).

    All items ran in one chunk, from ``started`` to ``stopped``, each in full.
    """
    from ibm_quantum_schemas.common import CompressedTensorModel
    from ibm_quantum_schemas.executor.version_2_0 import models
    from qiskit_ibm_runtime.quantum_program.converters.converters_2_0 import (
        passthrough_data_to_2_0,
    )

    items = []
    parts = []
    for index, (item, source) in enumerate(zip(result, program.items, strict=True)):
        arrays = {name: CompressedTensorModel.from_numpy(value) for name, value in item.items()}
        items.append(
            models.QuantumProgramResultItemModel(
                results=arrays, metadata=models.ItemMetadataModel()
            )
        )
        shape = tuple(source.shape)
        size = math.prod(shape)
        parts.append(
            models.ChunkPart(
                idx_item=index,
                size=size,
                permutation=list(range(len(shape))),
                element_range=(0, size, 1),
            )
        )
    model = models.QuantumProgramResultModel(
        data=items,
        metadata=models.MetadataModel(
            chunk_timing=[models.ChunkSpan(start=started, stop=stopped, parts=parts)]
        ),
        passthrough_data=passthrough_data_to_2_0(result.passthrough_data),
        semantic_role=getattr(result, "_semantic_role", None),
    )
    return model.model_dump_json()
