"""Benchmarks: each prints a table comparing measured time with the physical limit."""
