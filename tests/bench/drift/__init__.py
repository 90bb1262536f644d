"""Drift engine benchmark: our engine, a per-column scipy loop and Evidently on the same data."""
