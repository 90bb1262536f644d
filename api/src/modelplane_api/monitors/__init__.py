"""Drift monitors: DriftMonitors in an organization's namespace, results read from their status."""
