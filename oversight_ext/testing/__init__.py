"""Harnesses for tests and benchmarks: a throwaway PostgreSQL, a workshop server, a load generator.

The library never imports this package (a test checks it): it starts processes, opens ports
and imports ``httpx``, a development dependency (``pip install -e ".[dev]"``).
"""
