"""The IBM runtime wire format, one copy for client and service: no I/O, qiskit imported lazily."""
