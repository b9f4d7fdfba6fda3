"""The local job service: the IBM Quantum REST API v1 over Qiskit's simulators.

A separate program (``qjob-tui serve``). It shares only ``model`` and ``extract`` with the rest
of qjob-tui and never imports the client, the store or the interface.
"""
