"""Executor results, decoded with qiskit-ibm-runtime's own decoders for the dashboard.

``GET /jobs/{id}/results`` of an executor job is a ``QuantumProgramResultModel``. Where the
program came from the client-side Sampler or Estimator (its semantic role says so), the client's
own post-processor turns it into the ``PrimitiveResult`` the user's script gets (undoing
twirling), and that is read as any sampler or estimator result is. Any other program's arrays
are summarized as they are. The text is untrusted: zlib payloads are capped before the decoder
inflates them, and every failure is an ``ExecutorResultError`` with a readable reason.
"""

from __future__ import annotations

import json
from typing import Any

from qjob_tui.results import (
    Counts,
    EstimatorResult,
    ExecutorArray,
    ExecutorItemResult,
    ExecutorResult,
    JobResult,
)
from qjob_tui.text import one_line
from qjob_tui.wire.errors import ResultDecodeError, WireError
from qjob_tui.wire.executor import check_payloads
from qjob_tui.wire.safe_decode import load_object

MAX_ITEMS = 10_000  # items summarized; a screen could not show more
MAX_ARRAYS = 100  # arrays per item


class ExecutorResultError(ResultDecodeError):
    """An executor result that cannot be read; the message says why."""


def _counts(array: Any) -> Counts:
    """Bitstrings of a boolean array's last axis (bit 0 rightmost), over all its other axes."""
    import numpy as np

    bits = array.reshape(-1, array.shape[-1])[:, ::-1]
    rows, times = np.unique(bits, axis=0, return_counts=True)
    return Counts(
        {
            "".join("1" if b else "0" for b in row): int(n)
            for row, n in zip(rows, times, strict=True)
        }
    )


def _array(name: str, value: Any) -> ExecutorArray:
    import numpy as np

    array = np.asarray(value)
    shape = tuple(int(n) for n in array.shape)
    label = one_line(name, 40)
    if array.dtype == np.bool_ and array.ndim >= 2 and array.size and shape[-1] <= 4096:
        return ExecutorArray(label, shape, "bool", counts=_counts(array))
    if array.size and np.issubdtype(array.dtype, np.number):
        real = np.real(array) if np.iscomplexobj(array) else array
        return ExecutorArray(
            label,
            shape,
            str(array.dtype),
            low=float(np.min(real)),
            mean=float(np.mean(real)),
            high=float(np.max(real)),
        )
    return ExecutorArray(label, shape, str(array.dtype))


def _encodes(value: object) -> bool:
    from qiskit_ibm_runtime import RuntimeEncoder

    try:
        json.dumps(value, cls=RuntimeEncoder)
    except (TypeError, ValueError):
        return False
    return True


def _primitive(program_result: Any) -> JobResult | EstimatorResult | None:
    """The client-side primitive's own result, when the program's semantic role names one."""
    from qiskit.primitives import PrimitiveResult
    from qiskit_ibm_runtime import RuntimeEncoder
    from qiskit_ibm_runtime.decoders.executor_estimator.decoder import (
        ClientSideEstimatorDecoder,
    )
    from qiskit_ibm_runtime.decoders.executor_sampler.decoder import (
        ClientSideSamplerResultDecoder,
    )

    from qjob_tui.wire.estimator_results import decode_estimator_result
    from qjob_tui.wire.sampler_results import decode_sampler_result

    for decoder, read in (
        (ClientSideSamplerResultDecoder, decode_sampler_result),
        (ClientSideEstimatorDecoder, decode_estimator_result),
    ):
        if decoder.is_applicable(program_result):
            primitive = decoder.decode(program_result)
            # Its metadata holds the executor's own objects, which the encoder cannot write.
            kept = {key: value for key, value in primitive.metadata.items() if _encodes(value)}
            plain = PrimitiveResult(list(primitive), metadata=kept)
            return read(json.dumps(plain, cls=RuntimeEncoder))
    return None


def decode_executor_result(text: str | bytes) -> JobResult | EstimatorResult | ExecutorResult:
    """Decode an executor job's result; raises only ``ExecutorResultError``."""
    try:
        text = text if isinstance(text, str) else text.decode()
        document = load_object(text)
        check_payloads(document)
        from qiskit_ibm_runtime.decoders.executor.decoder import ExecutorResultDecoder

        program_result = ExecutorResultDecoder.decode(text)
        primitive = _primitive(program_result)
        if primitive is not None:
            return primitive
        items = []
        for index, item in enumerate(program_result):
            if index >= MAX_ITEMS:
                break
            arrays = [_array(name, value) for name, value in list(item.items())[:MAX_ARRAYS]]
            items.append(ExecutorItemResult(tuple(arrays)))
        role = getattr(program_result, "_semantic_role", None)
        return ExecutorResult(tuple(items), one_line(role, 40) if isinstance(role, str) else None)
    except ExecutorResultError:
        raise
    except WireError as exc:
        raise ExecutorResultError(exc.message, exc.solution) from None
    except Exception as exc:  # the decoders raise whatever malformed input trips in them
        raise ExecutorResultError(
            f"malformed executor result: {type(exc).__name__}: {one_line(str(exc), 120)}"
        ) from None
