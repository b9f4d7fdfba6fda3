"""Errors a program raises when a job cannot run, in the words a person can act on.

The service records them in the job's ``state`` as ``reason``, ``reason_code`` and
``reason_solution``, as IBM Quantum does for a failed job.
"""

from __future__ import annotations

# Reason codes. IBM documents codes in the 1000..9999 range; these follow its grouping
# (1xxx: job input problems, 2xxx: execution, 3xxx: service).
CODE_BAD_PARAMS = 1500
CODE_BAD_CIRCUIT = 1501
CODE_TOO_MANY_QUBITS = 1502
CODE_UNSUPPORTED_INSTRUCTION = 1503
CODE_BAD_PARAMETER_VALUES = 1504
CODE_TOO_MANY_SHOTS = 1505
CODE_NO_MEASUREMENTS = 1506
# random-extractor: sizes that break an extractor's rules (n, m, a, c, rates, epsilon).
CODE_BAD_EXTRACTOR_PARAMETERS = 1510
# random-extractor: an input above the service's size caps.
CODE_INPUT_TOO_LARGE = 1511
# random-extractor: the ``raw_job`` it reads is unknown, unfinished or not a sampler job.
CODE_RAW_JOB_NOT_FOUND = 1512
CODE_RAW_JOB_NOT_COMPLETED = 1513
CODE_RAW_JOB_UNUSABLE = 1514
# random-extractor: the raw source holds too few bits for the requested security.
CODE_NOT_ENOUGH_RAW_BITS = 1515
# sampler: a circuit whose gate definitions expand past what a worker can run.
CODE_CIRCUIT_TOO_LARGE = 1507
CODE_EXECUTION_FAILED = 2000
# The job's worker used more memory than a job may (``--job-memory``).
CODE_OUT_OF_MEMORY = 2001
CODE_SERVICE_RESTARTED = 3001
# The service's own transpiler failed on a circuit it should compile (not the circuit's fault).
CODE_TRANSPILER_FAILED = 3002


class ProgramError(Exception):
    """A job's input or execution failed; the job ends ``Failed`` with these details."""

    def __init__(self, code: int, message: str, solution: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.solution = solution

    def __repr__(self) -> str:
        return f"ProgramError({self.code}, {self.message!r})"
