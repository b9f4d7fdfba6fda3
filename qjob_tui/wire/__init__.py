"""The IBM runtime wire format, one copy for the client (``api/``) and the service alike.

Each module is one part of it: ``envelope`` (typed JSON objects, zlib+base64, ndarrays),
``circuits`` (OpenQASM 2/3 and QPY), ``sampler``, ``estimator`` and ``extractor`` (params and
results).
No I/O, no other part of the project but ``model`` and ``text``; qiskit is imported inside
the functions that need it, so that the dashboard starts without it.
"""
