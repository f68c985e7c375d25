"""Benchmarks (issue 8): `python -m bench [--size tiny|small|full] [--only NAME]`.

Each scenario prints a table and writes JSON to bench/results/. A benchmark is not a test:
nothing here asserts a speed; targets are reported as met or missed.
"""
