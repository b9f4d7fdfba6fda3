"""The CQC randomness extractor of the retired IBM Quantum service, in pure numpy.

Stage 1 (``dodis``) turns the Mermin-game raw bits and a weak source string (WSR) into
nearly uniform bits; stage 2 (``hayashi``) uses those as a seed to hash more WSR bits.
``params`` sizes both stages as ``qiskit_rng`` did, ``bits`` keeps the service's byte
packing, and ``quality`` gives quick NIST SP 800-22 style checks for display. No I/O here.
"""

from .bits import as_bits, bits_to_bytes, bytes_to_bits, to_hex
from .dodis import dodis
from .hayashi import hayashi
from .params import (
    MAX_EXT2_SEED_BITS,
    MIN_EXT1_OUTPUT_BITS,
    ExtractorParams,
    bell_value,
    bt_adjusting,
    cqc_extractor_params,
    ext1_input_num_bits,
    ext1_output_num_bits,
    ext2_parameters,
    extractor_bits,
    guessing_probability,
    h_mins,
    hayashi_epsilon,
    losing_probability,
)
from .pipeline import run_cqc_extractor
from .primes import has_primitive_root_2, is_prime, na_set
from .quality import ALPHA, CheckResult, bias_check, frequency_test, quality_report, runs_test

__all__ = [
    "ALPHA",
    "MAX_EXT2_SEED_BITS",
    "MIN_EXT1_OUTPUT_BITS",
    "CheckResult",
    "ExtractorParams",
    "as_bits",
    "bell_value",
    "bias_check",
    "bits_to_bytes",
    "bt_adjusting",
    "bytes_to_bits",
    "cqc_extractor_params",
    "dodis",
    "ext1_input_num_bits",
    "ext1_output_num_bits",
    "ext2_parameters",
    "extractor_bits",
    "frequency_test",
    "guessing_probability",
    "h_mins",
    "has_primitive_root_2",
    "hayashi",
    "hayashi_epsilon",
    "is_prime",
    "losing_probability",
    "na_set",
    "quality_report",
    "run_cqc_extractor",
    "runs_test",
    "to_hex",
]
