"""Overhead and scale benchmarks: ``python -m benchmarks``."""
