"""The ``estimator`` program's wire format: EstimatorV2 params (version 2) in, results out.

qiskit-ibm-runtime's EstimatorV2 sends ``{"pubs": [[circuit, observables, parameter values,
precision], ...], "options": {...}, "version": 2, "support_qiskit": true}`` through its
RuntimeEncoder, and reads back a ``PrimitiveResult`` whose pub results hold ``evs`` and ``stds``
arrays. Both directions go through the client's own encoder and decoder (``safe_decode``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from qjob_tui.wire.safe_decode import WireError, decode_params, encode

# BackendEstimatorV2's default precision when neither the pub nor the options give one.
DEFAULT_PRECISION = 0.015625


@dataclass(frozen=True, eq=False)
class EstimatorTask:
    """Decoded estimator params: qiskit ``EstimatorPub``s and the primitive's options."""

    pubs: tuple[Any, ...]
    options: dict[str, Any]

    def runner_options(self) -> dict[str, Any]:
        """The options for the local runner, with the client's documented shot rule applied.

        ``TwirlingOptions``: "the product of ``num_randomizations`` and
        ``shots_per_randomization`` takes precedence over ``default_shots``" (a pub's own
        precision is still obeyed). The local runner knows nothing of twirling, so the product
        is handed to it as ``default_shots``.
        """
        twirling = self.options.get("twirling")
        if not isinstance(twirling, dict):
            return dict(self.options)
        count, each = twirling.get("num_randomizations"), twirling.get("shots_per_randomization")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in (count, each)):
            return dict(self.options)
        return {**self.options, "default_shots": count * each}

    def shots(self) -> int:
        """Shots the estimate will take, from each pub's precision (1 / precision**2)."""
        options = self.runner_options()
        default = options.get("default_precision")
        if isinstance(options.get("default_shots"), int) and options["default_shots"]:
            default = 1 / math.sqrt(options["default_shots"])
        total = 0
        for pub in self.pubs:
            precision = pub.precision or default or DEFAULT_PRECISION
            total += math.ceil(1 / precision**2) * max(math.prod(pub.shape), 1)
        return total


def parse_estimator_params(text: str) -> EstimatorTask:
    """EstimatorV2's params as qiskit objects, each problem named by its pub."""
    params = decode_params(text)
    if params.get("version", 2) != 2:
        raise WireError(
            f"estimator params version {str(params.get('version'))[:20]} is not supported",
            "Submit with EstimatorV2 (params version 2).",
        )
    options = params.get("options") or {}
    if not isinstance(options, dict):
        raise WireError("options must be an object", "Send the estimator's options as an object.")
    raw_pubs = params.get("pubs")
    if not isinstance(raw_pubs, list) or not raw_pubs:
        raise WireError("params.pubs must be a non-empty list", "Send at least one pub.")
    from qiskit.primitives.containers.estimator_pub import EstimatorPub

    pubs = []
    for index, raw in enumerate(raw_pubs):
        if not isinstance(raw, list | tuple) or not 2 <= len(raw) <= 4:
            raise WireError(
                f"pub {index} must be [circuit, observables, parameter values?, precision?]",
                "Encode each pub as EstimatorV2 does.",
            )
        try:
            pubs.append(EstimatorPub.coerce(tuple(raw)))
        except Exception as exc:  # qiskit's validation raises ValueError, TypeError, ...
            raise WireError(
                f"pub {index}: {str(exc)[:300]}",
                "Check the pub's circuit, observables (one qubit per circuit qubit), "
                "parameter values and precision.",
            ) from None
    return EstimatorTask(pubs=tuple(pubs), options=dict(options))


def shaped_result(result: Any, pubs: tuple[Any, ...]) -> Any:
    """The result with every data field a numpy array of its pub's shape, as IBM sends it.

    Qiskit's ``BackendEstimatorV2`` leaves a scalar pub's ``stds`` (and, on noisy backends, its
    ``evs``) a numpy float, which ``RuntimeEncoder`` writes as a plain number: the client would
    then read a Python float where IBM's service gives a 0-d array.
    """
    import numpy as np
    from qiskit.primitives.containers import DataBin, PrimitiveResult, PubResult

    shaped = []
    for pub, pub_result in zip(pubs, result, strict=True):
        fields = {
            name: np.asarray(value).reshape(pub.shape) for name, value in pub_result.data.items()
        }
        data = DataBin(**fields, shape=pub.shape)
        shaped.append(PubResult(data, metadata=pub_result.metadata))
    return PrimitiveResult(shaped, metadata=result.metadata)


def encode_estimator_result(result: object, pubs: tuple[Any, ...]) -> str:
    """A ``PrimitiveResult`` of estimator pub results, as the client's decoder reads it."""
    return encode(shaped_result(result, pubs))
