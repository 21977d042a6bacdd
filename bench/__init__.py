"""Benchmark of the worker against a bare asyncio floor and a plain APScheduler script.

`python -m bench` runs it; see bench/README.md. Not part of the test suite.
"""
