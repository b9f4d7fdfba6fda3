"""The one set of limits of the wire format, for the client and the service alike."""

from __future__ import annotations

# The newest QPY version IBM's service reads (qiskit-ibm-runtime SERVICE_MAX_SUPPORTED_QPY_VERSION).
SERVICE_MAX_SUPPORTED_QPY_VERSION = 17

# The integers a JSON number may hold here, as in IBM's API (int64) and SQLite.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Qubits and bits a circuit may declare: far above any backend's qubits (and registers of a
# few bits each), far below what a parser builds without gigabytes (checked on OpenQASM text
# and on a QPY circuit's header, before either is loaded).
MOST_DECLARED_BITS = 100_000

# What one zlib stream (a circuit, an array, a result's BitArray) may inflate to: large enough
# for 100,000 shots of big registers over many parameter sets, small enough that a zlib bomb
# cannot eat a worker or the dashboard.
MAX_INFLATED_BYTES = 256 * 1024 * 1024

# How much of the OpenQASM 3 parser's printed complaints is read, and how long it may take.
MAX_PARSER_OUTPUT = 64 * 1024
QASM3_PARSE_SECONDS = 60.0
