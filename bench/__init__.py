"""Benchmarks: timing goals are reported here, never asserted in tests."""
