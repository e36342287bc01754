"""Benchmarks of svcforge: generation speed and the serving speed of generated services.

Run everything with ``uv run python bench/run.py`` from the repository root; see
``docs/benchmarks.md`` for the method and the latest figures.
"""
