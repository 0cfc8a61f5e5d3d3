"""Cycling tests: cycler files in, per-cycle data, metrics and plots out."""
